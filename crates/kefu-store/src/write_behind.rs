//! Write-behind for SQLite transactions: writes whose results the use case never reads back wait in the
//! transaction and reach the database together, as one multi-statement batch, when the transaction commits.
//!
//! On SQLite every statement is a hand-off to the connection's worker thread and back, made while the one
//! write slot is held, so a use case's cost on the writer is mostly its number of statements. The writes that
//! end a use case (a new ticket's tags, the ticket's SLA row, the outbox notice; for inbound mail also the
//! email side of the message and the outcome on the raw mail's row) need nothing back, so they are queued
//! here ([`Repo::write_behind`](crate::Repo)) and sent as one statement list before the savepoint is
//! released: several hand-offs become one.
//!
//! The rule that keeps this invisible: a table written behind is read (or written in place) only through
//! `Repo` methods that first call `flush_written_behind`, so a transaction always sees its own writes. Those
//! tables are `ticket_tags`, `ticket_sla`, `outbox`, `mail_messages` and `inbound_mails`. A failing queued write fails the commit, and the
//! transaction rolls back whole, as if it had failed where it was queued.
//!
//! What it is not: no reordering (statements run in the order they were queued) and nothing on PostgreSQL,
//! whose writers run concurrently and where a write runs when it is made.

use std::sync::Mutex;

use sea_orm::{ConnectionTrait, DbBackend, Statement, Value};

use crate::Result;

/// The statements a transaction queued, in order.
#[derive(Default)]
pub(crate) struct WriteBehind {
    queued: Mutex<Vec<Statement>>,
}

impl WriteBehind {
    /// Queues a statement, to run with the others before the commit.
    pub(crate) fn push(&self, statement: Statement) {
        self.queued.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(statement);
    }

    /// Runs every queued statement now, in one round trip to the connection, and empties the queue.
    pub(crate) async fn flush<C: ConnectionTrait>(&self, conn: &C) -> Result<()> {
        let queued = std::mem::take(&mut *self.queued.lock().unwrap_or_else(std::sync::PoisonError::into_inner));
        let batch = match queued.len() {
            0 => return Ok(()),
            1 => queued.into_iter().next().expect("one statement"),
            _ => statement_list(queued),
        };
        conn.execute_raw(batch).await?;
        Ok(())
    }
}

/// One SQLite statement list from several statements, their `?` parameters in the same order (SQLite binds a
/// list's parameters one statement after the other): one round trip to the driver's worker for all of them,
/// whose rows come back one statement after the other.
pub(crate) fn statement_list(statements: impl IntoIterator<Item = Statement>) -> Statement {
    let mut sql = String::new();
    let mut values: Vec<Value> = Vec::new();
    for statement in statements {
        sql.push_str(&statement.sql);
        sql.push_str(";\n");
        values.extend(statement.values.map(|values| values.0).unwrap_or_default());
    }
    Statement::from_sql_and_values(DbBackend::Sqlite, sql, values)
}
