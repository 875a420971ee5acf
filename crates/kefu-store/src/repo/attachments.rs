//! Attachment metadata; the bytes live in the object store, under `storage_key`.

use chrono::{DateTime, Utc};
use kefu_domain::{AgentId, AttachmentId, MessageId};
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};

use crate::entities::attachment;
use crate::{Repo, Result};

/// An uploaded file's metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttachmentRecord {
    /// Id.
    pub id: AttachmentId,
    /// The message carrying it; `None` until a message claims it.
    pub message_id: Option<MessageId>,
    /// The file name as uploaded (sanitized).
    pub filename: String,
    /// The MIME type.
    pub content_type: String,
    /// Size in bytes.
    pub size_bytes: i64,
    /// Hex SHA-256 of the content.
    pub sha256: String,
    /// Where the bytes are in the object store.
    pub storage_key: String,
    /// The agent who uploaded it.
    pub uploaded_by: Option<AgentId>,
    /// When.
    pub created_at: DateTime<Utc>,
}

/// A file to record.
#[derive(Debug, Clone)]
pub struct NewAttachment {
    /// The file name.
    pub filename: String,
    /// The MIME type.
    pub content_type: String,
    /// Size in bytes.
    pub size_bytes: i64,
    /// Hex SHA-256.
    pub sha256: String,
    /// Object store key.
    pub storage_key: String,
    /// Uploader.
    pub uploaded_by: Option<AgentId>,
}

pub(super) fn to_record(row: attachment::Model) -> AttachmentRecord {
    AttachmentRecord {
        id: AttachmentId(row.id),
        message_id: row.message_id.map(MessageId),
        filename: row.filename,
        content_type: row.content_type,
        size_bytes: row.size_bytes,
        sha256: row.sha256,
        storage_key: row.storage_key,
        uploaded_by: row.uploaded_by_agent_id.map(AgentId),
        created_at: row.created_at,
    }
}

impl<C: ConnectionTrait> Repo<'_, C> {
    /// Records an uploaded file.
    pub async fn insert_attachment(&self, file: &NewAttachment, now: DateTime<Utc>) -> Result<AttachmentRecord> {
        let row = attachment::ActiveModel {
            message_id: Set(None),
            filename: Set(file.filename.clone()),
            content_type: Set(file.content_type.clone()),
            size_bytes: Set(file.size_bytes),
            sha256: Set(file.sha256.clone()),
            storage_key: Set(file.storage_key.clone()),
            uploaded_by_agent_id: Set(file.uploaded_by.map(|id| id.0)),
            created_at: Set(now),
            ..Default::default()
        };
        Ok(to_record(attachment::Entity::insert(row).exec_with_returning(self.conn).await?))
    }

    /// One attachment by id.
    pub async fn attachment(&self, id: AttachmentId) -> Result<Option<AttachmentRecord>> {
        Ok(attachment::Entity::find_by_id(id.0).one(self.conn).await?.map(to_record))
    }

    /// Several attachments by id (missing ones are left out).
    pub async fn attachments(&self, ids: &[AttachmentId]) -> Result<Vec<AttachmentRecord>> {
        if ids.is_empty() {
            return Ok(vec![]);
        }
        let rows = attachment::Entity::find()
            .filter(attachment::Column::Id.is_in(ids.iter().map(|id| id.0)))
            .order_by_asc(attachment::Column::Id)
            .all(self.conn)
            .await?;
        Ok(rows.into_iter().map(to_record).collect())
    }
}
