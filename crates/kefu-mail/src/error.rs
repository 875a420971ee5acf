//! The one error type of the mail adapter.

/// Why a mail could not be read, built, sent or fetched.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MailError {
    /// The bytes are not a message (empty, or no header at all).
    #[error("not an email message: {0}")]
    Unparseable(String),
    /// The message has no usable sender address.
    #[error("the message has no sender address")]
    NoSender,
    /// An outgoing message could not be built (a bad address, header or attachment type).
    #[error("cannot build the message: {0}")]
    Build(String),
    /// The SMTP relay refused or failed; `permanent` for 5xx answers, which a retry will not fix.
    #[error("SMTP: {reason}")]
    Send {
        /// True when retrying cannot help.
        permanent: bool,
        /// What the relay or the connection said.
        reason: String,
    },
    /// The IMAP server failed or refused.
    #[error("IMAP: {0}")]
    Imap(String),
}
