//! The email channel: mailboxes, raw inbound mail (stored before anything else happens), the email side of
//! ticket messages (Message-IDs for threading), the outbound queue, and ticket participants (Cc'd people).

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::ConnectionTrait;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261124_000001_mail"
    }
}

fn id() -> ColumnDef {
    ColumnDef::new("id").big_integer().not_null().auto_increment().primary_key().to_owned()
}
fn text(name: &'static str) -> ColumnDef {
    ColumnDef::new(name).text().not_null().to_owned()
}
fn text_null(name: &'static str) -> ColumnDef {
    ColumnDef::new(name).text().null().to_owned()
}
fn bigint(name: &'static str) -> ColumnDef {
    ColumnDef::new(name).big_integer().not_null().to_owned()
}
fn bigint_null(name: &'static str) -> ColumnDef {
    ColumnDef::new(name).big_integer().null().to_owned()
}
fn timestamp(name: &'static str) -> ColumnDef {
    ColumnDef::new(name).timestamp_with_time_zone().not_null().to_owned()
}
fn timestamp_null(name: &'static str) -> ColumnDef {
    ColumnDef::new(name).timestamp_with_time_zone().null().to_owned()
}
fn json_null(name: &'static str) -> ColumnDef {
    ColumnDef::new(name).json_binary().null().to_owned()
}
fn json(name: &'static str) -> ColumnDef {
    ColumnDef::new(name).json_binary().not_null().to_owned()
}
fn references(
    table: &'static str,
    column: &'static str,
    target: &'static str,
    on_delete: ForeignKeyAction,
) -> ForeignKeyCreateStatement {
    ForeignKey::create().from(table, column).to(target, "id").on_delete(on_delete).to_owned()
}
fn index(name: &'static str, table: &'static str, columns: &[&'static str]) -> IndexCreateStatement {
    let mut index = Index::create();
    index.name(name).table(table);
    for column in columns {
        index.col(*column);
    }
    index.to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let tables = [
            Table::create()
                .table("mailboxes")
                .col(id())
                .col(text("address").unique_key())
                .col(text("name"))
                .col(bigint_null("group_id"))
                .col(ColumnDef::new("active").boolean().not_null().default(true))
                .col(ColumnDef::new("auto_ack").boolean().not_null().default(false))
                .col(text("tag_prefix"))
                .col(json_null("imap"))
                .col(json_null("smtp"))
                .col(timestamp_null("last_poll_at"))
                .col(text_null("last_poll_error"))
                .col(timestamp("created_at"))
                .col(timestamp("updated_at"))
                .foreign_key(&mut references("mailboxes", "group_id", "groups", ForeignKeyAction::SetNull))
                .to_owned(),
            Table::create()
                .table("inbound_mails")
                .col(id())
                .col(bigint("mailbox_id"))
                .col(text("source"))
                .col(text("dedupe_key").unique_key())
                .col(text_null("header_message_id"))
                .col(ColumnDef::new("raw").binary().not_null())
                .col(bigint("size_bytes"))
                .col(text("status"))
                .col(text_null("error"))
                .col(ColumnDef::new("attempts").integer().not_null().default(0))
                .col(bigint_null("ticket_id"))
                .col(bigint_null("message_id"))
                .col(timestamp("received_at"))
                .col(timestamp_null("processed_at"))
                .foreign_key(&mut references("inbound_mails", "mailbox_id", "mailboxes", ForeignKeyAction::NoAction))
                .to_owned(),
            Table::create()
                .table("mail_messages")
                .col(id())
                .col(bigint("message_id").unique_key())
                .col(bigint("mailbox_id"))
                .col(text("direction"))
                .col(text("header_message_id"))
                .col(text_null("from_address"))
                .col(json("to_addresses"))
                .col(json("cc_addresses"))
                .col(text("subject"))
                .col(bigint_null("inbound_id"))
                .col(text_null("full_text"))
                .col(timestamp("created_at"))
                .foreign_key(&mut references("mail_messages", "message_id", "messages", ForeignKeyAction::Cascade))
                .foreign_key(&mut references("mail_messages", "mailbox_id", "mailboxes", ForeignKeyAction::NoAction))
                .to_owned(),
            Table::create()
                .table("outbound_mails")
                .col(id())
                .col(bigint("mailbox_id"))
                .col(bigint_null("message_id"))
                .col(bigint_null("ticket_id"))
                .col(text("kind"))
                .col(text("recipient"))
                .col(text("header_message_id"))
                .col(ColumnDef::new("raw").binary().not_null())
                .col(text("envelope_from"))
                .col(json("envelope_to"))
                .col(text("status"))
                .col(ColumnDef::new("attempts").integer().not_null().default(0))
                .col(timestamp("next_attempt_at"))
                .col(text_null("last_error"))
                .col(timestamp("created_at"))
                .col(timestamp_null("sent_at"))
                .foreign_key(&mut references("outbound_mails", "mailbox_id", "mailboxes", ForeignKeyAction::NoAction))
                .to_owned(),
            Table::create()
                .table("ticket_participants")
                .col(bigint("ticket_id"))
                .col(bigint("customer_id"))
                .col(timestamp("created_at"))
                .primary_key(Index::create().col("ticket_id").col("customer_id"))
                .foreign_key(&mut references("ticket_participants", "ticket_id", "tickets", ForeignKeyAction::Cascade))
                .foreign_key(&mut references(
                    "ticket_participants",
                    "customer_id",
                    "customers",
                    ForeignKeyAction::Cascade,
                ))
                .to_owned(),
        ];
        for table in tables {
            manager.create_table(table).await?;
        }
        let indexes = [
            index("inbound_mails_mailbox_status", "inbound_mails", &["mailbox_id", "status", "id"]),
            index("inbound_mails_status", "inbound_mails", &["status", "id"]),
            index("mail_messages_header", "mail_messages", &["header_message_id"]),
            index("outbound_mails_due", "outbound_mails", &["status", "next_attempt_at"]),
            index("outbound_mails_message", "outbound_mails", &["message_id"]),
            index("outbound_mails_header", "outbound_mails", &["header_message_id"]),
            index("outbound_mails_recipient", "outbound_mails", &["kind", "recipient", "created_at"]),
        ];
        for index in indexes {
            manager.create_index(index).await?;
        }
        // How far the reply scanner has looked through `messages` (see kefu-app's mail module).
        manager
            .get_connection()
            .execute_unprepared("INSERT INTO counters (name, value) VALUES ('mail_reply_scan', 0)")
            .await?;
        Ok(())
    }
}
