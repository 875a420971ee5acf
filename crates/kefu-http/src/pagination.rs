//! Keyset pagination in the API: `?limit=&cursor=` in, `{items, next_cursor}` out.

use kefu_app::{Cursor, Page};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::error::ApiError;

const DEFAULT_LIMIT: u64 = 25;
const MAX_LIMIT: u64 = 100;

/// Paging parameters.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Page size, 1 to 100 (default 25).
    pub limit: Option<u64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

impl PageQuery {
    /// The validated page size and cursor.
    pub fn parse(&self) -> Result<(u64, Option<Cursor>), ApiError> {
        let limit = self.limit.unwrap_or(DEFAULT_LIMIT);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(ApiError::bad_request(
                "request.invalid_query",
                format!("limit must be between 1 and {MAX_LIMIT}"),
            ));
        }
        let cursor = match self.cursor.as_deref().filter(|cursor| !cursor.is_empty()) {
            Some(text) => Some(Cursor::decode(text).ok_or_else(|| {
                ApiError::bad_request("request.invalid_cursor", "the cursor is not one this API handed out")
            })?),
            None => None,
        };
        Ok((limit, cursor))
    }
}

/// One page of a list.
#[derive(Debug, Serialize, ToSchema)]
pub struct PageDto<T> {
    /// The items of this page.
    pub items: Vec<T>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

impl<T> PageDto<T> {
    /// Converts a store page item by item.
    pub fn from_page<U>(page: Page<U>, convert: impl FnMut(U) -> T) -> PageDto<T> {
        PageDto {
            items: page.items.into_iter().map(convert).collect(),
            next_cursor: page.next_cursor.map(|c| c.encode()),
        }
    }
}
