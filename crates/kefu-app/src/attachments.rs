//! Attachments: uploads are checked, hashed and written to the object store (a folder under the data
//! directory, or S3 in a cluster), then recorded; downloads check that the agent may see the ticket (or
//! that the file is on a knowledge-base article).

use bytes::Bytes;
use kefu_domain::{Agent, AgentId, AttachmentId};
use kefu_store::{AttachmentRecord, NewAttachment};
use object_store::{ObjectStoreExt, PutPayload, path::Path};
use sha2::{Digest, Sha256};

use crate::sanitize::clean_filename;
use crate::{App, AppError, Entity, Result, require_active};

/// Checks a MIME type: `type/subtype` of token characters, lower-cased; anything else becomes
/// `application/octet-stream`.
fn clean_content_type(content_type: Option<&str>) -> String {
    let fallback = "application/octet-stream".to_owned();
    let Some(content_type) = content_type else {
        return fallback;
    };
    let essence = content_type.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    let token =
        |part: &str| !part.is_empty() && part.chars().all(|c| c.is_ascii_alphanumeric() || "!#$&-^_.+".contains(c));
    match essence.split_once('/') {
        Some((kind, subtype)) if token(kind) && token(subtype) => essence,
        _ => fallback,
    }
}

impl App {
    /// Stores an upload. The bytes go to the object store first; a database failure afterwards leaves an
    /// orphan file, never a record without bytes.
    pub async fn upload_attachment(
        &self,
        agent: &Agent,
        filename: &str,
        content_type: Option<&str>,
        content: Bytes,
    ) -> Result<AttachmentRecord> {
        require_active(agent)?;
        let file = self.put_file(filename, content_type, content, Some(agent.id)).await?;
        let tx = self.store.begin().await?;
        let record = tx.repo().insert_attachment(&file, self.now()).await?;
        tx.commit().await?;
        Ok(record)
    }

    /// Checks a file against the size limit, writes its bytes to the object store (before any transaction, so
    /// no file IO holds the write lock) and describes it for the database.
    pub(crate) async fn put_file(
        &self,
        filename: &str,
        content_type: Option<&str>,
        content: Bytes,
        uploaded_by: Option<AgentId>,
    ) -> Result<NewAttachment> {
        if content.len() > self.config.max_attachment_bytes {
            return Err(AppError::TooLarge { limit: self.config.max_attachment_bytes });
        }
        let sha256 = hex::encode(Sha256::digest(&content));
        let storage_key = format!("attachments/{}/{}", self.now().format("%Y/%m"), uuid::Uuid::now_v7());
        let size_bytes = i64::try_from(content.len()).unwrap_or(i64::MAX);
        self.files
            .put(&Path::from(storage_key.as_str()), PutPayload::from_bytes(content))
            .await
            .map_err(|error| AppError::Files(error.to_string()))?;
        Ok(NewAttachment {
            filename: clean_filename(filename),
            content_type: clean_content_type(content_type),
            size_bytes,
            sha256,
            storage_key,
            uploaded_by,
        })
    }

    /// The bytes of a stored file.
    pub(crate) async fn read_file(&self, record: &AttachmentRecord) -> Result<Bytes> {
        self.files
            .get(&Path::from(record.storage_key.as_str()))
            .await
            .map_err(|error| AppError::Files(error.to_string()))?
            .bytes()
            .await
            .map_err(|error| AppError::Files(error.to_string()))
    }

    /// An attachment's metadata, if the agent may see it: the uploader always; every agent when it is on a
    /// knowledge-base article (drafts and internal ones included: agents read the whole knowledge base);
    /// otherwise whoever may see the ticket of its message.
    pub async fn attachment(&self, agent: &Agent, id: AttachmentId) -> Result<AttachmentRecord> {
        require_active(agent)?;
        let repo = self.store.repo();
        let record = repo.attachment(id).await?.ok_or(AppError::NotFound(Entity::Attachment))?;
        if record.uploaded_by == Some(agent.id) || !repo.kb_articles_with_file(id.0).await?.is_empty() {
            return Ok(record);
        }
        let message = match record.message_id {
            Some(message_id) => repo.message(message_id).await?,
            None => None,
        };
        let ticket = match message {
            Some(message) => repo.ticket(message.ticket_id).await?,
            None => None,
        };
        match ticket {
            Some(ticket) if agent.can_view(&ticket) => Ok(record),
            _ => Err(AppError::NotFound(Entity::Attachment)),
        }
    }

    /// An attachment's metadata and bytes, under the same rule as [`App::attachment`].
    pub async fn download_attachment(&self, agent: &Agent, id: AttachmentId) -> Result<(AttachmentRecord, Bytes)> {
        let record = self.attachment(agent, id).await?;
        let content = self.read_file(&record).await?;
        Ok((record, content))
    }
}

#[cfg(test)]
mod tests {
    use super::clean_content_type;

    #[test]
    fn content_types_are_checked() {
        assert_eq!(clean_content_type(Some("Image/PNG; charset=x")), "image/png");
        assert_eq!(clean_content_type(Some("text/html<script>")), "application/octet-stream");
        assert_eq!(clean_content_type(None), "application/octet-stream");
    }
}
