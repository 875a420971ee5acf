//! SLAs and automation: business calendars, SLA policies, each ticket's SLA state and its fired alerts,
//! triggers and automations, macros, saved views, agent notifications, webhook deliveries, agent
//! availability and capacity, and when a ticket's status last changed.

use sea_orm_migration::prelude::*;

use super::columns::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261124_000002_rules"
    }
}

fn integer_null(name: &'static str) -> ColumnDef {
    ColumnDef::new(name).integer().null().to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let tables = [
            Table::create()
                .table("calendars")
                .col(id())
                .col(text("name").unique_key())
                .col(text("time_zone"))
                .col(json("weekly"))
                .col(json("holidays"))
                .col(json("extra_workdays"))
                .col(timestamp("created_at"))
                .col(timestamp("updated_at"))
                .to_owned(),
            Table::create()
                .table("sla_policies")
                .col(id())
                .col(text("name"))
                .col(bigint("position"))
                .col(boolean("active", true))
                .col(json("conditions"))
                .col(json("targets"))
                .col(bigint_null("calendar_id"))
                .col(timestamp("created_at"))
                .col(timestamp("updated_at"))
                .foreign_key(&mut references("sla_policies", "calendar_id", "calendars", ForeignKeyAction::Restrict))
                .to_owned(),
            Table::create()
                .table("ticket_sla")
                .col(bigint("ticket_id").primary_key())
                .col(bigint_null("policy_id"))
                .col(json_null("targets"))
                .col(bigint_null("calendar_id"))
                .col(timestamp_null("first_response_due_at"))
                .col(timestamp_null("next_response_due_at"))
                .col(timestamp_null("resolution_due_at"))
                .col(timestamp_null("next_due_at"))
                .col(boolean("breached", false))
                .col(timestamp_null("next_check_at"))
                .col(timestamp("updated_at"))
                .foreign_key(&mut references("ticket_sla", "ticket_id", "tickets", ForeignKeyAction::Cascade))
                .to_owned(),
            Table::create()
                .table("sla_alerts")
                .col(bigint("ticket_id"))
                .col(text("metric"))
                .col(text("kind"))
                .col(timestamp("due_at"))
                .col(timestamp("fired_at"))
                .primary_key(Index::create().col("ticket_id").col("metric").col("kind").col("due_at"))
                .foreign_key(&mut references("sla_alerts", "ticket_id", "tickets", ForeignKeyAction::Cascade))
                .to_owned(),
            Table::create()
                .table("rules")
                .col(id())
                .col(text("kind"))
                .col(text("name"))
                .col(bigint("position"))
                .col(boolean("active", true))
                .col(json("events"))
                .col(json("conditions"))
                .col(json("actions"))
                .col(timestamp("created_at"))
                .col(timestamp("updated_at"))
                .to_owned(),
            Table::create()
                .table("automation_runs")
                .col(bigint("rule_id"))
                .col(bigint("ticket_id"))
                .col(timestamp("fired_at"))
                .primary_key(Index::create().col("rule_id").col("ticket_id"))
                .foreign_key(&mut references("automation_runs", "rule_id", "rules", ForeignKeyAction::Cascade))
                .foreign_key(&mut references("automation_runs", "ticket_id", "tickets", ForeignKeyAction::Cascade))
                .to_owned(),
            Table::create()
                .table("macros")
                .col(id())
                .col(text("title"))
                .col(json("bodies"))
                .col(json("actions"))
                .col(bigint_null("owner_agent_id"))
                .col(boolean("active", true))
                .col(bigint("usage_count"))
                .col(timestamp("created_at"))
                .col(timestamp("updated_at"))
                .foreign_key(&mut references("macros", "owner_agent_id", "agents", ForeignKeyAction::Cascade))
                .to_owned(),
            Table::create()
                .table("views")
                .col(id())
                .col(text("name"))
                .col(json("filters"))
                .col(text("sort"))
                .col(bigint_null("owner_agent_id"))
                .col(bigint("position"))
                .col(timestamp("created_at"))
                .col(timestamp("updated_at"))
                .foreign_key(&mut references("views", "owner_agent_id", "agents", ForeignKeyAction::Cascade))
                .to_owned(),
            Table::create()
                .table("notifications")
                .col(id())
                .col(bigint("agent_id"))
                .col(text("kind"))
                .col(bigint_null("ticket_id"))
                .col(text("title"))
                .col(text("body"))
                .col(timestamp("created_at"))
                .col(timestamp_null("read_at"))
                .foreign_key(&mut references("notifications", "agent_id", "agents", ForeignKeyAction::Cascade))
                .to_owned(),
            Table::create()
                .table("webhook_deliveries")
                .col(id())
                .col(bigint_null("rule_id"))
                .col(bigint_null("ticket_id"))
                .col(text("url"))
                .col(text("secret"))
                .col(text("body"))
                .col(text("status"))
                .col(bigint("attempts"))
                .col(timestamp("next_attempt_at"))
                .col(text_null("last_error"))
                .col(timestamp("created_at"))
                .col(timestamp_null("delivered_at"))
                .to_owned(),
        ];
        for table in tables {
            manager.create_table(table).await?;
        }
        let indexes = [
            index("ticket_sla_next_check", "ticket_sla", &["next_check_at"]),
            index("ticket_sla_next_due", "ticket_sla", &["next_due_at"]),
            index("rules_kind", "rules", &["kind", "position"]),
            index("notifications_agent", "notifications", &["agent_id", "id"]),
            index("webhook_deliveries_due", "webhook_deliveries", &["status", "next_attempt_at"]),
            index("tickets_status_changed", "tickets", &["status", "status_changed_at"]),
        ];
        // SQLite alters one column per statement.
        let alterations = [
            Table::alter().table("agents").add_column(boolean("available", true)).to_owned(),
            Table::alter().table("agents").add_column(integer_null("capacity")).to_owned(),
            Table::alter().table("agents").add_column(timestamp_null("last_assigned_at")).to_owned(),
            Table::alter().table("tickets").add_column(timestamp_null("status_changed_at")).to_owned(),
        ];
        for alteration in alterations {
            manager.alter_table(alteration).await?;
        }
        for index in indexes {
            manager.create_index(index).await?;
        }
        Ok(())
    }
}
