//! Kefu's email adapter: turns raw RFC 5322 bytes into values the use cases understand, and replies into
//! bytes on the wire.
//!
//! - [`parse::parse`] decodes a message (every legacy charset, RFC 2047 words, RFC 2231 names, QP, base64)
//!   into an [`InboundMail`]: sender and recipients, thread hints (Message-ID, In-Reply-To, all References),
//!   text and raw HTML bodies, the visible reply with quoted history stripped ([`quote`]), attachments, and
//!   whether it is automated mail or a bounce ([`auto`]).
//! - [`thread`] finds and writes the subject tag (`[#10234]`) and the body marker that survive providers
//!   which rewrite Message-IDs.
//! - [`compose::build`] writes an [`OutgoingMail`] as a multipart text + HTML message with threading
//!   headers and attachments; [`transport`] sends it through an SMTP relay and fetches new mail over IMAP.
//!
//! ```
//! let raw = b"From: Li Lei <li@example.com>\r\nSubject: =?gb2312?B?xOO6ww==?=\r\n\r\nhello\r\n";
//! let mail = kefu_mail::parse::parse(raw).unwrap();
//! assert_eq!(mail.subject, "你好");
//! assert_eq!(mail.from.unwrap().address, "li@example.com");
//! ```
//!
//! What this crate is not: it never touches the database and decides nothing about tickets. Which ticket a
//! mail threads to, who the customer is, and when to send are `kefu-app`'s business. HTML comes out
//! unsanitized; the use cases sanitize everything from outside in one place.

pub mod auto;
pub mod compose;
mod error;
pub mod parse;
pub mod quote;
#[cfg(feature = "samples")]
pub mod samples;
pub mod thread;
pub mod transport;

pub use auto::{Automated, Bounce};
pub use compose::{OutgoingAttachment, OutgoingMail};
pub use error::MailError;
pub use parse::{InboundMail, MailAddress, MailAttachment};
