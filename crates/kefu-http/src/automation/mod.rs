//! Automation and SLA resources: `/calendars`, `/sla-policies`, `/triggers` (with a dry run), `/automations`,
//! `/macros` (with preview and apply), `/views`, `/notifications`, a ticket's SLA and agents' availability.
//!
//! Conditions, actions, targets and filters travel in Kefu's JSON rule format, documented on each DTO;
//! `kefu-domain` checks them when they are saved.

mod calendars;
mod macros;
mod notifications;
mod rules;
mod sla;
mod views;

use utoipa_axum::{router::OpenApiRouter, routes};

use crate::state::AppState;

/// The automation and SLA routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(calendars::list_calendars, calendars::create_calendar))
        .routes(routes!(calendars::update_calendar, calendars::delete_calendar))
        .routes(routes!(sla::list_sla_policies, sla::create_sla_policy))
        .routes(routes!(sla::update_sla_policy, sla::delete_sla_policy))
        .routes(routes!(sla::get_ticket_sla))
        .routes(routes!(rules::list_triggers, rules::create_trigger))
        .routes(routes!(rules::update_trigger, rules::delete_trigger))
        .routes(routes!(rules::dry_run_triggers))
        .routes(routes!(rules::list_automations, rules::create_automation))
        .routes(routes!(rules::update_automation, rules::delete_automation))
        .routes(routes!(macros::list_macros, macros::create_macro))
        .routes(routes!(macros::update_macro, macros::delete_macro))
        .routes(routes!(macros::preview_macro))
        .routes(routes!(macros::apply_macro))
        .routes(routes!(views::list_views, views::create_view))
        .routes(routes!(views::update_view, views::delete_view))
        .routes(routes!(views::list_view_tickets))
        .routes(routes!(notifications::list_notifications))
        .routes(routes!(notifications::read_notification))
        .routes(routes!(notifications::get_availability, notifications::set_availability))
}
