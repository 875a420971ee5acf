//! Messages: public replies and internal notes on a ticket.

use chrono::{DateTime, Utc};

use crate::{AgentId, AttachmentId, CustomerId, DomainError, MessageId, Result, Role, TicketId};

/// The largest message body we accept, in bytes of UTF-8 (text and HTML each).
pub const MAX_MESSAGE_BODY_BYTES: usize = 1024 * 1024;
/// The most attachments one message may carry.
const MAX_ATTACHMENTS_PER_MESSAGE: usize = 50;

/// Who wrote a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthorKind {
    /// The requester (or another customer on the thread).
    Customer(CustomerId),
    /// A staff user.
    Agent(AgentId),
    /// Kefu itself.
    System,
}

/// A message as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    /// Id.
    pub id: MessageId,
    /// The ticket it belongs to now (after a merge, the target).
    pub ticket_id: TicketId,
    /// Author.
    pub author: AuthorKind,
    /// True for an internal note, which customers never see.
    pub internal: bool,
    /// Plain text.
    pub body_text: String,
    /// Sanitized HTML, when the message has an HTML form.
    pub body_html: Option<String>,
    /// Attached files.
    pub attachment_ids: Vec<AttachmentId>,
    /// When it was written.
    pub created_at: DateTime<Utc>,
}

/// A message before it is stored. HTML must already be sanitized by the caller (`kefu-app` does it).
#[derive(Debug, Clone, PartialEq)]
pub struct MessageDraft {
    /// Author.
    pub author: AuthorKind,
    /// Internal note or public reply.
    pub internal: bool,
    /// Plain text.
    pub body_text: String,
    /// Sanitized HTML.
    pub body_html: Option<String>,
    /// Attachments already uploaded.
    pub attachment_ids: Vec<AttachmentId>,
}

impl MessageDraft {
    /// Checks the body and who may write what: an empty message without attachments is refused, bodies are
    /// bounded, and a collaborator (`author_role`) may only write internal notes.
    pub fn validate(mut self, author_role: Option<Role>) -> Result<MessageDraft> {
        if self.body_text.trim().is_empty() && self.attachment_ids.is_empty() {
            return Err(DomainError::invalid("body", "a message needs a body or an attachment"));
        }
        if self.body_text.len() > MAX_MESSAGE_BODY_BYTES
            || self.body_html.as_ref().is_some_and(|html| html.len() > MAX_MESSAGE_BODY_BYTES)
        {
            return Err(DomainError::invalid(
                "body",
                format!("a message body is at most {MAX_MESSAGE_BODY_BYTES} bytes"),
            ));
        }
        if self.attachment_ids.len() > MAX_ATTACHMENTS_PER_MESSAGE {
            return Err(DomainError::invalid(
                "attachment_ids",
                format!("a message carries at most {MAX_ATTACHMENTS_PER_MESSAGE} attachments"),
            ));
        }
        if !self.internal && author_role.is_some_and(|role| !role.replies_publicly()) {
            return Err(DomainError::PublicReplyNotAllowed);
        }
        self.attachment_ids.sort();
        self.attachment_ids.dedup();
        Ok(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draft(internal: bool, body: &str) -> MessageDraft {
        MessageDraft {
            author: AuthorKind::Agent(AgentId(1)),
            internal,
            body_text: body.into(),
            body_html: None,
            attachment_ids: vec![],
        }
    }

    #[test]
    fn collaborators_write_internal_notes_only() {
        assert_eq!(draft(false, "hi").validate(Some(Role::Collaborator)), Err(DomainError::PublicReplyNotAllowed));
        assert!(draft(true, "hi").validate(Some(Role::Collaborator)).is_ok());
        assert!(draft(false, "hi").validate(Some(Role::Agent)).is_ok());
    }

    #[test]
    fn empty_and_oversized_bodies_are_refused() {
        assert!(draft(false, "  \n").validate(None).is_err());
        let huge = "x".repeat(MAX_MESSAGE_BODY_BYTES + 1);
        assert!(draft(false, &huge).validate(None).is_err());
        let mut only_attachment = draft(false, "");
        only_attachment.attachment_ids = vec![AttachmentId(2), AttachmentId(2)];
        assert_eq!(only_attachment.validate(None).map(|d| d.attachment_ids), Ok(vec![AttachmentId(2)]));
    }
}
