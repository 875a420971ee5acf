//! API tests: each starts the real server on `127.0.0.1:0` over a fresh database and talks HTTP and
//! WebSocket to it. Every test runs twice, on SQLite and on PostgreSQL (`KEFU_TEST_POSTGRES_URL`).
//!
//! - `harness`: `TestApp` (server + database), `Client` (an authenticated HTTP client), the `api_test!` macro
//! - `auth`: sign-in, sessions and CSRF, API tokens, throttling, two-factor
//! - `authorization`: every endpoint refuses anonymous calls; what each role may do; restricted agents
//! - `tickets`: create (idempotent), read, update (If-Match), list (filters, keyset paging), required fields
//! - `conversation`: replies and notes, events, merge and split, followers and links
//! - `customers`: identities, lookup, organizations, customer merge
//! - `attachments`: upload limits, download headers, access
//! - `automation`: rules checked at save time, routing triggers, round-robin, SLA warnings and breaches on a
//!   manual clock (exactly once, also with two workers), automations, macros, views, signed webhooks
//! - `mail`: mailboxes, raw import, threading, failures and retry, replies to an SMTP sink, the SMTP listener
//! - `imap`: polling a real dovecot (started per test): crash mid-poll, flags only after commit, IDLE
//! - `kb`: search over tickets, customers and articles (permissions, filters, snippets), articles with
//!   translations and revisions, suggestions, drafts from tickets, search analytics, index rebuilds
//! - `help`: the public help center, the request form (spam control, suggestions) and the customer portal
//! - `live`: the WebSocket pushes changes to the agents allowed to see them
//! - `robustness`: malformed input gets 4xx problem+json, never a 5xx
//! - `ops`: health, readiness, metrics, OpenAPI document and docs page
//! - `workspace`: view counts, presence and @mentions for the agent workspace

mod harness;

mod attachments;
mod auth;
mod authorization;
mod automation;
mod conversation;
mod customers;
mod help;
mod imap;
mod kb;
mod live;
mod mail;
mod ops;
mod robustness;
mod tickets;
mod workspace;
