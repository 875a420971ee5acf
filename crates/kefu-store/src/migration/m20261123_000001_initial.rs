//! The initial schema: organizations, customers and identities, agents, groups, tokens, sessions, custom
//! fields and categories, tickets with tags, followers and links, messages, attachments, the event log, the
//! outbox and idempotency keys.

use sea_orm_migration::prelude::*;

use super::columns::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261123_000001_initial"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let tables = [
            Table::create()
                .table("organizations")
                .col(id())
                .col(text("name").unique_key())
                .col(text_null("tier"))
                .col(text("notes"))
                .col(json("attributes"))
                .col(timestamp("created_at"))
                .col(timestamp("updated_at"))
                .to_owned(),
            Table::create()
                .table("organization_domains")
                .col(text("domain").primary_key())
                .col(bigint("organization_id"))
                .foreign_key(&mut references(
                    "organization_domains",
                    "organization_id",
                    "organizations",
                    ForeignKeyAction::Cascade,
                ))
                .to_owned(),
            Table::create()
                .table("customers")
                .col(id())
                .col(text("name"))
                .col(bigint_null("organization_id"))
                .col(text_null("tier"))
                .col(text_null("locale"))
                .col(json("attributes"))
                .col(bigint_null("merged_into_id"))
                .col(timestamp("created_at"))
                .col(timestamp("updated_at"))
                .foreign_key(&mut references(
                    "customers",
                    "organization_id",
                    "organizations",
                    ForeignKeyAction::SetNull,
                ))
                .to_owned(),
            Table::create()
                .table("customer_identities")
                .col(id())
                .col(bigint("customer_id"))
                .col(text("kind"))
                .col(text("provider"))
                .col(text("value"))
                .col(timestamp("created_at"))
                .foreign_key(&mut references(
                    "customer_identities",
                    "customer_id",
                    "customers",
                    ForeignKeyAction::NoAction,
                ))
                .to_owned(),
            Table::create()
                .table("groups")
                .col(id())
                .col(text("name").unique_key())
                .col(text("description"))
                .col(timestamp("created_at"))
                .col(timestamp("updated_at"))
                .to_owned(),
            Table::create()
                .table("agents")
                .col(id())
                .col(text("email").unique_key())
                .col(text("name"))
                .col(text("role"))
                .col(text_null("password_hash"))
                .col(text_null("totp_secret"))
                .col(boolean("totp_enabled", false))
                .col(bigint_null("totp_last_step"))
                .col(boolean("restricted_to_groups", false))
                .col(boolean("active", true))
                .col(timestamp("created_at"))
                .col(timestamp("updated_at"))
                .to_owned(),
            Table::create()
                .table("agent_groups")
                .col(bigint("agent_id"))
                .col(bigint("group_id"))
                .primary_key(Index::create().col("agent_id").col("group_id"))
                .foreign_key(&mut references("agent_groups", "agent_id", "agents", ForeignKeyAction::Cascade))
                .foreign_key(&mut references("agent_groups", "group_id", "groups", ForeignKeyAction::Cascade))
                .to_owned(),
            Table::create()
                .table("api_tokens")
                .col(id())
                .col(bigint("agent_id"))
                .col(text("name"))
                .col(text("token_hash").unique_key())
                .col(timestamp("created_at"))
                .col(timestamp_null("last_used_at"))
                .col(timestamp_null("revoked_at"))
                .foreign_key(&mut references("api_tokens", "agent_id", "agents", ForeignKeyAction::Cascade))
                .to_owned(),
            Table::create()
                .table("sessions")
                .col(text("id").primary_key())
                .col(text("data"))
                .col(timestamp("expires_at"))
                .to_owned(),
            Table::create()
                .table("custom_fields")
                .col(id())
                .col(text("key").unique_key())
                .col(text("label"))
                .col(text("field_type"))
                .col(json("options"))
                .col(boolean("active", true))
                .col(timestamp("created_at"))
                .col(timestamp("updated_at"))
                .to_owned(),
            Table::create()
                .table("categories")
                .col(id())
                .col(text("name").unique_key())
                .col(json("required_fields"))
                .col(timestamp("created_at"))
                .col(timestamp("updated_at"))
                .to_owned(),
            Table::create()
                .table("tickets")
                .col(id())
                .col(bigint("number").unique_key())
                .col(text("subject"))
                .col(text("status"))
                .col(text("priority"))
                .col(bigint_null("category_id"))
                .col(text("channel"))
                .col(bigint("requester_id"))
                .col(bigint_null("assignee_id"))
                .col(bigint_null("group_id"))
                .col(json("custom_fields"))
                .col(bigint_null("merged_into_id"))
                .col(bigint("version"))
                .col(timestamp("created_at"))
                .col(timestamp("updated_at"))
                .col(timestamp_null("solved_at"))
                .col(timestamp_null("closed_at"))
                .foreign_key(&mut references("tickets", "requester_id", "customers", ForeignKeyAction::NoAction))
                .foreign_key(&mut references("tickets", "assignee_id", "agents", ForeignKeyAction::NoAction))
                .foreign_key(&mut references("tickets", "group_id", "groups", ForeignKeyAction::NoAction))
                .foreign_key(&mut references("tickets", "category_id", "categories", ForeignKeyAction::NoAction))
                .to_owned(),
            Table::create()
                .table("ticket_tags")
                .col(bigint("ticket_id"))
                .col(text("tag"))
                .primary_key(Index::create().col("ticket_id").col("tag"))
                .foreign_key(&mut references("ticket_tags", "ticket_id", "tickets", ForeignKeyAction::Cascade))
                .to_owned(),
            Table::create()
                .table("ticket_followers")
                .col(bigint("ticket_id"))
                .col(bigint("agent_id"))
                .col(timestamp("created_at"))
                .primary_key(Index::create().col("ticket_id").col("agent_id"))
                .foreign_key(&mut references("ticket_followers", "ticket_id", "tickets", ForeignKeyAction::Cascade))
                .foreign_key(&mut references("ticket_followers", "agent_id", "agents", ForeignKeyAction::Cascade))
                .to_owned(),
            Table::create()
                .table("ticket_links")
                .col(bigint("source_id"))
                .col(bigint("target_id"))
                .col(text("kind"))
                .col(timestamp("created_at"))
                .primary_key(Index::create().col("source_id").col("target_id").col("kind"))
                .foreign_key(&mut references("ticket_links", "source_id", "tickets", ForeignKeyAction::Cascade))
                .foreign_key(&mut references("ticket_links", "target_id", "tickets", ForeignKeyAction::Cascade))
                .to_owned(),
            Table::create()
                .table("messages")
                .col(id())
                .col(bigint("ticket_id"))
                .col(bigint("original_ticket_id"))
                .col(text("author_kind"))
                .col(bigint_null("author_id"))
                .col(boolean("internal", false))
                .col(text("body_text"))
                .col(text_null("body_html"))
                .col(timestamp("created_at"))
                .foreign_key(&mut references("messages", "ticket_id", "tickets", ForeignKeyAction::NoAction))
                .to_owned(),
            Table::create()
                .table("attachments")
                .col(id())
                .col(bigint_null("message_id"))
                .col(text("filename"))
                .col(text("content_type"))
                .col(bigint("size_bytes"))
                .col(text("sha256"))
                .col(text("storage_key"))
                .col(bigint_null("uploaded_by_agent_id"))
                .col(timestamp("created_at"))
                .foreign_key(&mut references("attachments", "message_id", "messages", ForeignKeyAction::NoAction))
                .to_owned(),
            Table::create()
                .table("ticket_events")
                .col(id())
                .col(bigint("ticket_id"))
                .col(text("actor_kind"))
                .col(bigint_null("actor_id"))
                .col(text("kind"))
                .col(text_null("field"))
                .col(json_null("before"))
                .col(json_null("after"))
                .col(timestamp("created_at"))
                .foreign_key(&mut references("ticket_events", "ticket_id", "tickets", ForeignKeyAction::NoAction))
                .to_owned(),
            Table::create()
                .table("outbox")
                .col(id())
                .col(text("topic"))
                .col(json("payload"))
                .col(timestamp("created_at"))
                .col(timestamp_null("delivered_at"))
                .to_owned(),
            Table::create()
                .table("idempotency_keys")
                .col(bigint("agent_id"))
                .col(text("key"))
                .col(text("request_hash"))
                .col(ColumnDef::new("status_code").integer().null())
                .col(text_null("response_body"))
                .col(timestamp("created_at"))
                .primary_key(Index::create().col("agent_id").col("key"))
                .to_owned(),
            Table::create().table("counters").col(text("name").primary_key()).col(bigint("value")).to_owned(),
        ];
        for table in tables {
            manager.create_table(table).await?;
        }

        let indexes = [
            Index::create()
                .name("customer_identities_lookup")
                .table("customer_identities")
                .col("kind")
                .col("provider")
                .col("value")
                .unique()
                .to_owned(),
            index("customer_identities_customer", "customer_identities", &["customer_id"]),
            index("customers_organization", "customers", &["organization_id", "id"]),
            index("agent_groups_group", "agent_groups", &["group_id"]),
            index("api_tokens_agent", "api_tokens", &["agent_id"]),
            index("sessions_expires", "sessions", &["expires_at"]),
            index("tickets_status", "tickets", &["status", "id"]),
            index("tickets_status_updated", "tickets", &["status", "updated_at", "id"]),
            index("tickets_updated", "tickets", &["updated_at", "id"]),
            index("tickets_assignee", "tickets", &["assignee_id", "status", "id"]),
            index("tickets_group", "tickets", &["group_id", "status", "id"]),
            index("tickets_requester", "tickets", &["requester_id", "id"]),
            index("ticket_tags_tag", "ticket_tags", &["tag", "ticket_id"]),
            index("ticket_followers_agent", "ticket_followers", &["agent_id"]),
            index("ticket_links_target", "ticket_links", &["target_id"]),
            index("messages_ticket", "messages", &["ticket_id", "id"]),
            index("attachments_message", "attachments", &["message_id"]),
            index("ticket_events_ticket", "ticket_events", &["ticket_id", "id"]),
            index("outbox_pending", "outbox", &["delivered_at", "id"]),
        ];
        for index in indexes {
            manager.create_index(index).await?;
        }

        // Ticket numbers: a sequence on PostgreSQL (no lock between concurrent creates), a counter row on
        // SQLite (whose writes are serialized anyway). Either way a number is never handed out twice.
        let connection = manager.get_connection();
        match connection.get_database_backend() {
            DbBackend::Postgres => {
                connection.execute_unprepared("CREATE SEQUENCE ticket_number_seq START WITH 1").await?;
            }
            _ => {
                connection.execute_unprepared("INSERT INTO counters (name, value) VALUES ('ticket_number', 0)").await?;
            }
        }
        Ok(())
    }
}
