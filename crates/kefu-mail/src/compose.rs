//! Outgoing mail: an [`OutgoingMail`] becomes RFC 5322 bytes with threading headers, a text and an HTML
//! alternative, attachments, Kefu's loop header, and `Auto-Submitted` for system mail.

use lettre::message::header::{ContentType, Header, HeaderName, HeaderValue};
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};

use crate::auto::LOOP_HEADER;
use crate::{MailAddress, MailError};

/// A file to attach.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingAttachment {
    /// File name.
    pub filename: String,
    /// MIME type.
    pub content_type: String,
    /// Bytes.
    pub content: Vec<u8>,
}

/// A message to send.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OutgoingMail {
    /// The mailbox it is sent from.
    pub from: Option<MailAddress>,
    /// Recipients.
    pub to: Vec<MailAddress>,
    /// Copies.
    pub cc: Vec<MailAddress>,
    /// Subject (with the ticket's tag).
    pub subject: String,
    /// Our Message-ID, without angle brackets.
    pub message_id: String,
    /// The message this answers.
    pub in_reply_to: Option<String>,
    /// The thread so far, oldest first.
    pub references: Vec<String>,
    /// Plain text body.
    pub text: String,
    /// HTML body.
    pub html: Option<String>,
    /// Attachments.
    pub attachments: Vec<OutgoingAttachment>,
    /// `Auto-Submitted` value for mail no person wrote (`auto-replied`).
    pub auto_submitted: Option<String>,
}

/// A built message: the bytes and the SMTP envelope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuiltMail {
    /// The RFC 5322 bytes.
    pub raw: Vec<u8>,
    /// MAIL FROM.
    pub envelope_from: String,
    /// RCPT TO, every recipient.
    pub envelope_to: Vec<String>,
}

macro_rules! text_header {
    ($name:ident, $header:expr) => {
        #[derive(Debug, Clone)]
        struct $name(String);

        impl Header for $name {
            fn name() -> HeaderName {
                HeaderName::new_from_ascii_str($header)
            }

            fn parse(text: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
                Ok($name(text.to_owned()))
            }

            fn display(&self) -> HeaderValue {
                HeaderValue::new(Self::name(), self.0.clone())
            }
        }
    };
}

text_header!(AutoSubmitted, "Auto-Submitted");
text_header!(KefuLoop, LOOP_HEADER);
text_header!(AutoResponseSuppress, "X-Auto-Response-Suppress");

fn mailbox(address: &MailAddress) -> Result<Mailbox, MailError> {
    let parsed = address
        .address
        .parse::<lettre::Address>()
        .map_err(|error| MailError::Build(format!("{}: {error}", address.address)))?;
    Ok(Mailbox::new(address.name.clone(), parsed))
}

fn bracketed(id: &str) -> String {
    format!("<{id}>")
}

/// Writes the message. Fails on an unusable address or attachment type.
pub fn build(mail: &OutgoingMail) -> Result<BuiltMail, MailError> {
    let from = mail.from.as_ref().ok_or_else(|| MailError::Build("no sender".into()))?;
    if mail.to.is_empty() {
        return Err(MailError::Build("no recipient".into()));
    }
    let mut builder = lettre::Message::builder()
        .from(mailbox(from)?)
        .subject(mail.subject.clone())
        .message_id(Some(bracketed(&mail.message_id)))
        .header(KefuLoop(from.address.clone()));
    for to in &mail.to {
        builder = builder.to(mailbox(to)?);
    }
    for cc in &mail.cc {
        builder = builder.cc(mailbox(cc)?);
    }
    if let Some(in_reply_to) = &mail.in_reply_to {
        builder = builder.in_reply_to(bracketed(in_reply_to));
    }
    if !mail.references.is_empty() {
        builder = builder.references(mail.references.iter().map(|id| bracketed(id)).collect::<Vec<_>>().join(" "));
    }
    if let Some(value) = &mail.auto_submitted {
        builder = builder.header(AutoSubmitted(value.clone())).header(AutoResponseSuppress("All".into()));
    }
    let body = match &mail.html {
        Some(html) => MultiPart::alternative_plain_html(mail.text.clone(), html.clone()),
        None => MultiPart::mixed().singlepart(SinglePart::plain(mail.text.clone())),
    };
    let message = if mail.attachments.is_empty() {
        builder.multipart(body)
    } else {
        let mut mixed = MultiPart::mixed().multipart(body);
        for attachment in &mail.attachments {
            let content_type = ContentType::parse(&attachment.content_type)
                .unwrap_or_else(|_| ContentType::parse("application/octet-stream").expect("a valid MIME type"));
            mixed = mixed.singlepart(
                Attachment::new(attachment.filename.clone()).body(attachment.content.clone(), content_type),
            );
        }
        builder.multipart(mixed)
    }
    .map_err(|error| MailError::Build(error.to_string()))?;
    let envelope_to = mail.to.iter().chain(&mail.cc).map(|address| address.address.clone()).collect();
    Ok(BuiltMail { raw: message.formatted(), envelope_from: from.address.clone(), envelope_to })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::parse;

    #[test]
    fn a_reply_round_trips_through_the_parser() {
        let mail = OutgoingMail {
            from: Some(MailAddress::new("support@kefu.example", Some("客服"))),
            to: vec![MailAddress::new("li@example.com", Some("李雷"))],
            cc: vec![MailAddress::new("han@example.com", None)],
            subject: "Re: [#7] 发票问题".into(),
            message_id: "m-1@kefu.example".into(),
            in_reply_to: Some("c-2@example.com".into()),
            references: vec!["c-1@example.com".into(), "c-2@example.com".into()],
            text: "您好，已经处理。".into(),
            html: Some("<p>您好，已经处理。</p>".into()),
            attachments: vec![OutgoingAttachment {
                filename: "发票.pdf".into(),
                content_type: "application/pdf".into(),
                content: b"%PDF-1.4".to_vec(),
            }],
            auto_submitted: Some("auto-replied".into()),
        };
        let built = build(&mail).expect("builds");
        assert_eq!(built.envelope_to, vec!["li@example.com", "han@example.com"]);
        let parsed = parse(&built.raw).expect("parses");
        assert_eq!(parsed.subject, "Re: [#7] 发票问题");
        assert_eq!(parsed.message_id.as_deref(), Some("m-1@kefu.example"));
        assert_eq!(parsed.in_reply_to, vec!["c-2@example.com"]);
        assert_eq!(parsed.references, vec!["c-1@example.com", "c-2@example.com"]);
        assert_eq!(parsed.text.trim(), "您好，已经处理。");
        assert_eq!(parsed.attachments[0].filename, "发票.pdf");
        assert_eq!(parsed.automated.as_ref().map(|a| a.as_str()), Some("loop"));
        let raw = String::from_utf8_lossy(&built.raw);
        assert!(raw.contains("Auto-Submitted: auto-replied"));
    }
}
