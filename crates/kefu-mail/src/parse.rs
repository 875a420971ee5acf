//! Raw bytes to an [`InboundMail`]: headers, bodies, attachments, thread hints, and automated-mail flags.
//!
//! Decoding is mail-parser's with every charset enabled: `gb2312` is read as GB18030 (what senders labelled
//! gb2312 really use), Big5, ISO-2022-JP, RFC 2047 encoded words (malformed ones too), RFC 2231 file names.
//! Every string that comes out is valid UTF-8; bytes that do not decode become U+FFFD, never `?`.

use chrono::{DateTime, TimeZone, Utc};
use mail_parser::{Address, HeaderValue, MessageParser, MimeHeaders, PartType};
use sha2::{Digest, Sha256};

use crate::auto::{self, Automated, Bounce};
use crate::{MailError, quote, thread};

/// An address with its display name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailAddress {
    /// The address, lower-cased.
    pub address: String,
    /// The display name, decoded.
    pub name: Option<String>,
}

impl MailAddress {
    /// An address with an optional name; the address is trimmed and lower-cased.
    pub fn new(address: &str, name: Option<&str>) -> MailAddress {
        MailAddress {
            address: address.trim().to_lowercase(),
            name: name.map(str::trim).filter(|name| !name.is_empty()).map(str::to_owned),
        }
    }
}

/// A file carried by a message (attached, or an inline image referenced by `cid:`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailAttachment {
    /// The file name (decoded; `attachment` when the sender gave none).
    pub filename: String,
    /// The MIME type, lower-case.
    pub content_type: String,
    /// The Content-ID without angle brackets, for `cid:` references from the HTML.
    pub content_id: Option<String>,
    /// Shown inline rather than attached.
    pub inline: bool,
    /// The decoded bytes.
    pub content: Vec<u8>,
}

/// A parsed inbound message, everything the use cases need and nothing of mail-parser's types.
#[derive(Debug, Clone, PartialEq)]
pub struct InboundMail {
    /// The Message-ID without angle brackets.
    pub message_id: Option<String>,
    /// In-Reply-To ids.
    pub in_reply_to: Vec<String>,
    /// Every References id, oldest first.
    pub references: Vec<String>,
    /// The subject, decoded (empty when there is none).
    pub subject: String,
    /// The sender.
    pub from: Option<MailAddress>,
    /// Where replies should go, when it differs from the sender.
    pub reply_to: Option<MailAddress>,
    /// To recipients.
    pub to: Vec<MailAddress>,
    /// Cc recipients.
    pub cc: Vec<MailAddress>,
    /// The Date header, in UTC.
    pub date: Option<DateTime<Utc>>,
    /// The whole text body (derived from the HTML when the message has only HTML).
    pub text: String,
    /// The HTML body as sent (unsanitized), when the message has one.
    pub html: Option<String>,
    /// The visible reply: `text` without quoted history and signature.
    pub reply_text: String,
    /// Attachments and inline images.
    pub attachments: Vec<MailAttachment>,
    /// Why this is automated mail, if it is.
    pub automated: Option<Automated>,
    /// The delivery report, if this is a bounce.
    pub bounce: Option<Bounce>,
    /// A ticket number found in Kefu's body marker.
    pub body_marker: Option<i64>,
    /// Hex SHA-256 of the raw bytes: the dedupe key of a message without a Message-ID.
    pub content_hash: String,
}

impl InboundMail {
    /// The key that makes a second delivery of the same message harmless: its Message-ID, or a hash of its
    /// bytes when it has none.
    pub fn dedupe_key(&self) -> String {
        dedupe_key(self.message_id.as_deref(), &self.content_hash)
    }

    /// Every Message-ID this one refers to: In-Reply-To first, then References newest first.
    pub fn referenced_ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = self.in_reply_to.clone();
        for id in self.references.iter().rev() {
            if !ids.contains(id) {
                ids.push(id.clone());
            }
        }
        ids
    }
}

/// The dedupe key from a Message-ID or, without one, the content hash.
pub fn dedupe_key(message_id: Option<&str>, content_hash: &str) -> String {
    match message_id {
        Some(id) if !id.is_empty() => format!("mid:{id}"),
        _ => format!("sha256:{content_hash}"),
    }
}

/// Hex SHA-256 of raw bytes.
pub fn content_hash(raw: &[u8]) -> String {
    hex::encode(Sha256::digest(raw))
}

/// Reads only the Message-ID (or the content hash) of raw bytes: what the receiving side needs to dedupe
/// before storing, without decoding bodies.
pub fn peek_dedupe_key(raw: &[u8]) -> (Option<String>, String) {
    let hash = content_hash(raw);
    let message_id = MessageParser::new()
        .parse_headers(raw)
        .and_then(|message| message.message_id().and_then(thread::normalize_message_id));
    let key = dedupe_key(message_id.as_deref(), &hash);
    (message_id, key)
}

fn addresses(address: Option<&Address<'_>>) -> Vec<MailAddress> {
    let Some(address) = address else {
        return vec![];
    };
    address
        .iter()
        .filter_map(|addr| {
            let value = addr.address()?.trim();
            value.contains('@').then(|| MailAddress::new(value, addr.name()))
        })
        .collect()
}

fn id_list(value: &HeaderValue<'_>) -> Vec<String> {
    let mut ids = Vec::new();
    match value {
        HeaderValue::Text(text) => ids.extend(split_ids(text)),
        HeaderValue::TextList(list) => {
            for text in list {
                ids.extend(split_ids(text));
            }
        }
        _ => {}
    }
    ids.dedup();
    ids
}

/// Some clients write ids separated by spaces or commas inside one value.
fn split_ids(text: &str) -> Vec<String> {
    text.split(|c: char| c.is_whitespace() || c == ',').filter_map(thread::normalize_message_id).collect()
}

fn to_utc(date: &mail_parser::DateTime) -> Option<DateTime<Utc>> {
    Utc.timestamp_opt(date.to_timestamp(), 0).single()
}

/// Makes a string safe to store: no NUL (PostgreSQL refuses it in text), everything else as decoded.
pub(crate) fn clean_text(text: &str) -> String {
    if text.contains('\0') { text.replace('\0', "") } else { text.to_owned() }
}

/// Parses raw bytes. Never panics; fails only when the bytes are not a message at all.
pub fn parse(raw: &[u8]) -> Result<InboundMail, MailError> {
    let message =
        MessageParser::default().parse(raw).ok_or_else(|| MailError::Unparseable("no header found".into()))?;
    if message.headers().is_empty() {
        return Err(MailError::Unparseable("no header found".into()));
    }
    let from = addresses(message.from()).into_iter().next();
    let reply_to = addresses(message.reply_to()).into_iter().next();
    let mut text_parts = Vec::new();
    for index in 0..message.text_body_count() {
        if let Some(text) = message.body_text(index) {
            text_parts.push(text.into_owned());
        }
    }
    let text = clean_text(&text_parts.join("\n"));
    let html =
        message.html_part(0).filter(|part| part.is_text_html()).and_then(|part| part.text_contents()).map(clean_text);
    let mut attachments = Vec::new();
    for part in message.attachments() {
        let content = match &part.body {
            PartType::Binary(bytes) | PartType::InlineBinary(bytes) => bytes.to_vec(),
            PartType::Text(text) | PartType::Html(text) => text.as_bytes().to_vec(),
            PartType::Message(nested) => nested.raw_message().to_vec(),
            PartType::Multipart(_) => continue,
        };
        let content_type = part
            .content_type()
            .map(|ct| match ct.subtype() {
                Some(subtype) => format!("{}/{}", ct.ctype(), subtype),
                None => ct.ctype().to_owned(),
            })
            .unwrap_or_else(|| "application/octet-stream".into())
            .to_ascii_lowercase();
        let filename = part.attachment_name().map(clean_text).filter(|name| !name.trim().is_empty());
        let filename = filename.unwrap_or_else(|| {
            if matches!(part.body, PartType::Message(_)) { "message.eml".into() } else { "attachment".into() }
        });
        attachments.push(MailAttachment {
            filename,
            content_type,
            content_id: part.content_id().and_then(thread::normalize_message_id),
            inline: matches!(part.body, PartType::InlineBinary(_))
                || part.content_disposition().is_some_and(|disposition| disposition.is_inline()),
            content,
        });
    }
    let subject = clean_text(message.subject().unwrap_or_default().trim());
    let bounce = auto::bounce_report(&message);
    let automated = auto::detect(&message, from.as_ref(), bounce.is_some());
    let reply_text = quote::visible_reply(&text);
    let body_marker = thread::find_marker(&text).or_else(|| html.as_deref().and_then(thread::find_marker));
    Ok(InboundMail {
        message_id: message.message_id().and_then(thread::normalize_message_id),
        in_reply_to: id_list(message.in_reply_to()),
        references: id_list(message.references()),
        subject,
        from,
        reply_to,
        to: addresses(message.to()),
        cc: addresses(message.cc()),
        date: message.date().and_then(to_utc),
        text,
        html,
        reply_text,
        attachments,
        automated,
        bounce,
        body_marker,
        content_hash: content_hash(raw),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_thread_hints_and_bodies_are_read() {
        let raw = b"Message-ID: <a1@x.example>\r\nIn-Reply-To: <p1@kefu.example>\r\n\
References: <r0@kefu.example> <p1@kefu.example>\r\nFrom: \"Li Lei\" <Li@Example.com>\r\n\
To: support@kefu.example\r\nCc: Han Meimei <han@example.com>, bad\r\nSubject: Re: [#42] help\r\n\r\nThanks!\r\n";
        let mail = parse(raw).expect("parses");
        assert_eq!(mail.message_id.as_deref(), Some("a1@x.example"));
        assert_eq!(mail.in_reply_to, vec!["p1@kefu.example"]);
        assert_eq!(mail.references, vec!["r0@kefu.example", "p1@kefu.example"]);
        assert_eq!(mail.referenced_ids(), vec!["p1@kefu.example", "r0@kefu.example"]);
        assert_eq!(mail.from, Some(MailAddress::new("li@example.com", Some("Li Lei"))));
        assert_eq!(mail.cc, vec![MailAddress::new("han@example.com", Some("Han Meimei"))]);
        assert_eq!(mail.text.trim(), "Thanks!");
        assert_eq!(mail.dedupe_key(), "mid:a1@x.example");
        assert_eq!(peek_dedupe_key(raw).1, "mid:a1@x.example");
    }

    #[test]
    fn a_message_without_id_dedupes_on_its_bytes() {
        let mail = parse(b"From: a@b.example\r\n\r\nhi").expect("parses");
        assert!(mail.dedupe_key().starts_with("sha256:"));
        assert!(parse(b"").is_err());
    }
}
