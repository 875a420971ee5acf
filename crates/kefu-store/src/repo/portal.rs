//! The help center and the customer portal: the article list customers may read (titles only, one join),
//! customers' password hashes, single-use links, customer sessions, rate-limit hits and signing secrets.
//!
//! Tokens and session ids are stored as hashes; this module never sees them in the clear.

use chrono::{DateTime, Utc};
use kefu_domain::CustomerId;
use kefu_domain::kb::{ArticleStatus, Visibility};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
    QueryTrait,
};

use crate::entities::{
    customer_password, help_rate_hit, kb_article, kb_translation, portal_secret, portal_session, portal_token,
};
use crate::{Repo, Result};

/// One published public article translation, without its body: what lists, the sitemap and hreflang links
/// need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HelpEntry {
    /// The translation.
    pub translation_id: i64,
    /// Its article.
    pub article_id: i64,
    /// The article's category or section.
    pub category_id: Option<i64>,
    /// Locale.
    pub locale: String,
    /// Title.
    pub title: String,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

/// A help-center entry as selected: translation id, article id, category id, locale, title, updated at.
type HelpEntryRow = (i64, i64, Option<i64>, String, String, DateTime<Utc>);

impl<C: ConnectionTrait> Repo<'_, C> {
    /// Every published public article translation (in one locale, or all), without bodies: one join.
    pub async fn help_entries(&self, locale: Option<&str>) -> Result<Vec<HelpEntry>> {
        let mut select = kb_translation::Entity::find()
            .select_only()
            .column(kb_translation::Column::Id)
            .column(kb_translation::Column::ArticleId)
            .column_as(Expr::col((kb_article::Entity, kb_article::Column::CategoryId)), "category_id")
            .column(kb_translation::Column::Locale)
            .column(kb_translation::Column::Title)
            .column(kb_translation::Column::UpdatedAt);
        QueryTrait::query(&mut select).inner_join(
            kb_article::Entity,
            Expr::col((kb_article::Entity, kb_article::Column::Id))
                .equals((kb_translation::Entity, kb_translation::Column::ArticleId))
                .and(Expr::col((kb_article::Entity, kb_article::Column::Status)).eq(ArticleStatus::Published.as_str()))
                .and(Expr::col((kb_article::Entity, kb_article::Column::Visibility)).eq(Visibility::Public.as_str())),
        );
        if let Some(locale) = locale {
            select = select.filter(kb_translation::Column::Locale.eq(locale));
        }
        let rows: Vec<HelpEntryRow> =
            select.order_by_asc(kb_translation::Column::Id).into_tuple().all(self.conn).await?;
        Ok(rows
            .into_iter()
            .map(|(translation_id, article_id, category_id, locale, title, updated_at)| HelpEntry {
                translation_id,
                article_id,
                category_id,
                locale,
                title,
                updated_at,
            })
            .collect())
    }

    /// A customer's password hash, if they set one.
    pub async fn customer_password_hash(&self, customer_id: CustomerId) -> Result<Option<String>> {
        Ok(customer_password::Entity::find_by_id(customer_id.0).one(self.conn).await?.map(|row| row.password_hash))
    }

    /// Sets or replaces a customer's password hash.
    pub async fn set_customer_password(&self, customer_id: CustomerId, hash: &str, now: DateTime<Utc>) -> Result<()> {
        let row = customer_password::ActiveModel {
            customer_id: Set(customer_id.0),
            password_hash: Set(hash.to_owned()),
            updated_at: Set(now),
        };
        customer_password::Entity::insert(row)
            .on_conflict(
                OnConflict::column(customer_password::Column::CustomerId)
                    .update_columns([customer_password::Column::PasswordHash, customer_password::Column::UpdatedAt])
                    .to_owned(),
            )
            .exec(self.conn)
            .await?;
        Ok(())
    }

    /// Stores a single-use link token (its hash) for a purpose (`sign_in`, `password`).
    pub async fn insert_portal_token(
        &self,
        customer_id: CustomerId,
        purpose: &str,
        token_hash: &str,
        expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let row = portal_token::ActiveModel {
            customer_id: Set(customer_id.0),
            purpose: Set(purpose.to_owned()),
            token_hash: Set(token_hash.to_owned()),
            expires_at: Set(expires_at),
            used_at: Set(None),
            created_at: Set(now),
            ..Default::default()
        };
        portal_token::Entity::insert(row).exec(self.conn).await?;
        Ok(())
    }

    fn usable_token(purpose: &str, token_hash: &str, now: DateTime<Utc>) -> sea_orm::Condition {
        sea_orm::Condition::all()
            .add(portal_token::Column::TokenHash.eq(token_hash))
            .add(portal_token::Column::Purpose.eq(purpose))
            .add(portal_token::Column::UsedAt.is_null())
            .add(portal_token::Column::ExpiresAt.gt(now))
    }

    /// The customer of an unused, unexpired token, without using it.
    pub async fn portal_token_customer(
        &self,
        purpose: &str,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<CustomerId>> {
        Ok(portal_token::Entity::find()
            .filter(Self::usable_token(purpose, token_hash, now))
            .one(self.conn)
            .await?
            .map(|row| CustomerId(row.customer_id)))
    }

    /// Uses a token: marks it used if it is unused and unexpired and returns its customer; `None` otherwise
    /// (so of two concurrent uses, one wins).
    pub async fn use_portal_token(
        &self,
        purpose: &str,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<CustomerId>> {
        let Some(customer_id) = self.portal_token_customer(purpose, token_hash, now).await? else {
            return Ok(None);
        };
        let used = portal_token::Entity::update_many()
            .col_expr(portal_token::Column::UsedAt, Expr::val(now))
            .filter(Self::usable_token(purpose, token_hash, now))
            .exec(self.conn)
            .await?;
        Ok((used.rows_affected == 1).then_some(customer_id))
    }

    /// Starts a customer session (stored by the hash of its cookie value).
    pub async fn create_portal_session(
        &self,
        token_hash: &str,
        customer_id: CustomerId,
        expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let row = portal_session::ActiveModel {
            token_hash: Set(token_hash.to_owned()),
            customer_id: Set(customer_id.0),
            expires_at: Set(expires_at),
            created_at: Set(now),
        };
        portal_session::Entity::insert(row).exec(self.conn).await?;
        Ok(())
    }

    /// The customer of an unexpired session.
    pub async fn portal_session_customer(&self, token_hash: &str, now: DateTime<Utc>) -> Result<Option<CustomerId>> {
        Ok(portal_session::Entity::find_by_id(token_hash.to_owned())
            .filter(portal_session::Column::ExpiresAt.gt(now))
            .one(self.conn)
            .await?
            .map(|row| CustomerId(row.customer_id)))
    }

    /// Ends one session.
    pub async fn delete_portal_session(&self, token_hash: &str) -> Result<()> {
        portal_session::Entity::delete_by_id(token_hash.to_owned()).exec(self.conn).await?;
        Ok(())
    }

    /// Ends every session of a customer (after a password change).
    pub async fn delete_customer_sessions(&self, customer_id: CustomerId) -> Result<u64> {
        Ok(portal_session::Entity::delete_many()
            .filter(portal_session::Column::CustomerId.eq(customer_id.0))
            .exec(self.conn)
            .await?
            .rows_affected)
    }

    /// Deletes expired sessions and tokens, and rate-limit hits older than `hits_before`.
    pub async fn prune_portal(&self, now: DateTime<Utc>, hits_before: DateTime<Utc>) -> Result<()> {
        portal_session::Entity::delete_many()
            .filter(portal_session::Column::ExpiresAt.lte(now))
            .exec(self.conn)
            .await?;
        portal_token::Entity::delete_many().filter(portal_token::Column::ExpiresAt.lte(now)).exec(self.conn).await?;
        help_rate_hit::Entity::delete_many()
            .filter(help_rate_hit::Column::CreatedAt.lt(hits_before))
            .exec(self.conn)
            .await?;
        Ok(())
    }

    /// How many hits a rate-limit bucket had since `since`, and the oldest of them.
    pub async fn rate_hits(&self, bucket: &str, since: DateTime<Utc>) -> Result<(u64, Option<DateTime<Utc>>)> {
        let recent = || {
            help_rate_hit::Entity::find()
                .filter(help_rate_hit::Column::Bucket.eq(bucket))
                .filter(help_rate_hit::Column::CreatedAt.gt(since))
        };
        let count = recent().count(self.conn).await?;
        let oldest = if count == 0 {
            None
        } else {
            recent().order_by_asc(help_rate_hit::Column::CreatedAt).one(self.conn).await?.map(|row| row.created_at)
        };
        Ok((count, oldest))
    }

    /// Records one hit in a rate-limit bucket.
    pub async fn add_rate_hit(&self, bucket: &str, now: DateTime<Utc>) -> Result<()> {
        let row =
            help_rate_hit::ActiveModel { bucket: Set(bucket.to_owned()), created_at: Set(now), ..Default::default() };
        help_rate_hit::Entity::insert(row).exec(self.conn).await?;
        Ok(())
    }

    /// A named secret; when absent, `value` is stored first (the first node to ask wins, every node reads
    /// the same one).
    pub async fn portal_secret_or_insert(&self, name: &str, value: &str) -> Result<String> {
        let row = portal_secret::ActiveModel { name: Set(name.to_owned()), value: Set(value.to_owned()) };
        portal_secret::Entity::insert(row).on_conflict_do_nothing().exec(self.conn).await?;
        Ok(portal_secret::Entity::find_by_id(name.to_owned())
            .one(self.conn)
            .await?
            .map(|row| row.value)
            .unwrap_or_else(|| value.to_owned()))
    }
}
