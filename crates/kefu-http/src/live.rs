//! `GET /api/v1/live`: a WebSocket that pushes ticket changes to the agents allowed to see them.
//!
//! Each connection subscribes to the event bus and forwards the notices of tickets the agent may see now,
//! plus a `ticket_removed` when a ticket the agent could see moves out of their sight. The agent is
//! reloaded every half minute so role and group changes apply, and a deactivated agent is disconnected.
//! Messages are JSON; see [`LiveMessage`].
//!
//! The socket also listens: a screen sends [`ClientMessage`]s (`viewing`, `typing`, `left` with a
//! `ticket_id`) and the other agents who may see that ticket get a `presence` message. When an agent arrives
//! on a ticket, the sockets already there answer with their own presence, so the newcomer sees them at once;
//! when a socket closes, its agent leaves every ticket it was on. Screens drop a presence that is not
//! repeated within a minute (they repeat theirs every half minute).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use chrono::{DateTime, Utc};
use kefu_app::bus::{MentionNotice, Notice, PresenceNotice, PresenceState, TicketChange, TicketNotice};
use kefu_domain::{Agent, AgentId, GroupId, TicketId};
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast::error::RecvError;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::CurrentAgent;
use crate::state::AppState;

const PING_EVERY: Duration = Duration::from_secs(25);
const RELOAD_AGENT_EVERY: Duration = Duration::from_secs(30);
/// The most tickets one socket may be present on at once (a screen shows one; a few tabs share no socket).
const MAX_PRESENCES: usize = 16;

/// What the live socket sends.
#[derive(Debug, Serialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum LiveMessage {
    /// First message after connecting.
    Hello {
        /// Who the socket belongs to.
        agent_id: i64,
    },
    /// A ticket the agent may see changed.
    Ticket {
        /// `created`, `updated`, `message_added`, `merged` or `related`.
        change: String,
        /// The ticket.
        ticket_id: i64,
        /// Its number.
        number: i64,
        /// Its version now; a screen holding an older one is stale.
        version: i64,
        /// The agent who changed it.
        actor_agent_id: Option<i64>,
        /// For `message_added`: whether it is an internal note.
        internal: Option<bool>,
        /// The history entries written.
        event_ids: Vec<i64>,
        /// When.
        at: DateTime<Utc>,
    },
    /// A ticket the agent could see moved out of their sight (reassigned to another group).
    TicketRemoved {
        /// The ticket.
        ticket_id: i64,
    },
    /// The socket fell behind and missed notices: reload what is on screen.
    Lagged {
        /// How many were missed.
        missed: u64,
    },
    /// A notification for this agent (assignment, SLA warning or breach, a rule's message).
    Notification {
        /// The stored notification (`GET /api/v1/notifications`).
        notification_id: i64,
        /// `assigned`, `sla_warning`, `sla_breach`, `rule`.
        kind: String,
        /// The ticket it is about.
        ticket_id: Option<i64>,
        /// One line.
        title: String,
        /// When.
        at: DateTime<Utc>,
    },
    /// Another agent is viewing, typing on, or has left a ticket this agent may see.
    Presence {
        /// The ticket.
        ticket_id: i64,
        /// The other agent.
        agent_id: i64,
        /// Their display name.
        agent_name: String,
        /// `viewing`, `typing` or `left`.
        state: String,
        /// When.
        at: DateTime<Utc>,
    },
    /// This agent was mentioned in an internal note.
    Mention {
        /// The ticket.
        ticket_id: i64,
        /// Its number.
        number: i64,
        /// The note.
        message_id: i64,
        /// Who wrote it.
        actor_agent_id: i64,
        /// When.
        at: DateTime<Utc>,
    },
}

/// What a screen may send on the live socket.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientMessage {
    /// The agent has the ticket open (repeat every half minute while it stays open).
    Viewing {
        /// The ticket.
        ticket_id: i64,
    },
    /// The agent is writing on the ticket.
    Typing {
        /// The ticket.
        ticket_id: i64,
    },
    /// The agent closed the ticket.
    Left {
        /// The ticket.
        ticket_id: i64,
    },
}

impl ClientMessage {
    fn parts(&self) -> (i64, PresenceState) {
        match *self {
            ClientMessage::Viewing { ticket_id } => (ticket_id, PresenceState::Viewing),
            ClientMessage::Typing { ticket_id } => (ticket_id, PresenceState::Typing),
            ClientMessage::Left { ticket_id } => (ticket_id, PresenceState::Left),
        }
    }
}

fn state_name(state: PresenceState) -> &'static str {
    match state {
        PresenceState::Viewing => "viewing",
        PresenceState::Typing => "typing",
        PresenceState::Left => "left",
    }
}

/// What the agent should be told about another agent's presence, if anything.
fn presence_for(agent: &Agent, notice: &PresenceNotice) -> Option<LiveMessage> {
    let visible = agent.can_view_parts(notice.group_id.map(GroupId), notice.assignee_id.map(AgentId));
    (notice.agent_id != agent.id.0 && visible).then(|| LiveMessage::Presence {
        ticket_id: notice.ticket_id,
        agent_id: notice.agent_id,
        agent_name: notice.agent_name.clone(),
        state: state_name(notice.state).to_owned(),
        at: notice.at,
    })
}

/// The mention message for this agent, if the note mentions them and they may (still) see the ticket.
fn mention_for(agent: &Agent, notice: &MentionNotice) -> Option<LiveMessage> {
    let visible = agent.can_view_parts(notice.group_id.map(GroupId), notice.assignee_id.map(AgentId));
    (visible && notice.mentioned_agent_ids.contains(&agent.id.0)).then_some(LiveMessage::Mention {
        ticket_id: notice.ticket_id,
        number: notice.number,
        message_id: notice.message_id,
        actor_agent_id: notice.actor_agent_id,
        at: notice.at,
    })
}

fn change_name(change: TicketChange) -> &'static str {
    match change {
        TicketChange::Created => "created",
        TicketChange::Updated => "updated",
        TicketChange::MessageAdded => "message_added",
        TicketChange::Merged => "merged",
        TicketChange::Related => "related",
    }
}

/// What the agent should be told about a notice, if anything.
fn message_for(agent: &Agent, notice: &TicketNotice) -> Option<LiveMessage> {
    let group = notice.group_id.map(GroupId);
    let assignee = notice.assignee_id.map(AgentId);
    if agent.can_view_parts(group, assignee) {
        return Some(LiveMessage::Ticket {
            change: change_name(notice.change).to_owned(),
            ticket_id: notice.ticket_id,
            number: notice.number,
            version: notice.version,
            actor_agent_id: notice.actor_agent_id,
            internal: notice.internal,
            event_ids: notice.event_ids.clone(),
            at: notice.at,
        });
    }
    let previous_group = notice.previous_group_id.map(GroupId).or(group);
    let previous_assignee = notice.previous_assignee_id.map(AgentId).or(assignee);
    let moved = notice.previous_group_id.is_some() || notice.previous_assignee_id.is_some();
    (moved && agent.can_view_parts(previous_group, previous_assignee))
        .then_some(LiveMessage::TicketRemoved { ticket_id: notice.ticket_id })
}

/// Refuses handshakes from other sites (cross-site WebSocket hijacking): the `Origin`, when sent, must
/// name the host the request was made to.
fn same_origin(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|value| value.to_str().ok()) else {
        return true;
    };
    let host = headers.get(header::HOST).and_then(|value| value.to_str().ok()).unwrap_or_default();
    origin.split_once("://").map(|(_, rest)| rest) == Some(host)
}

/// Opens the live socket (send the session cookie or `Authorization: Bearer`).
#[utoipa::path(get, path = "/live", tag = "live",
    responses((status = 101, description = "Switching to WebSocket; messages are LiveMessage JSON", body = LiveMessage),
        (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem)))]
async fn open_live_socket(
    State(state): State<AppState>,
    headers: HeaderMap,
    CurrentAgent(agent): CurrentAgent,
    upgrade: Result<WebSocketUpgrade, axum::extract::ws::rejection::WebSocketUpgradeRejection>,
) -> ApiResult<Response> {
    if !same_origin(&headers) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "live.cross_origin",
            "the live socket only accepts this site's pages",
        ));
    }
    let upgrade =
        upgrade.map_err(|rejection| ApiError::bad_request("request.websocket_required", rejection.body_text()))?;
    Ok(upgrade.on_upgrade(move |socket| run(socket, state, agent)))
}

async fn send(socket: &mut WebSocket, message: &LiveMessage) -> bool {
    match serde_json::to_string(message) {
        Ok(text) => socket.send(Message::Text(text.into())).await.is_ok(),
        Err(_) => true,
    }
}

async fn run(mut socket: WebSocket, state: AppState, mut agent: Agent) {
    let mut notices = state.app.bus().subscribe();
    // The first ping after a full period (an immediate one would only race the first real message).
    let mut ping = tokio::time::interval_at(tokio::time::Instant::now() + PING_EVERY, PING_EVERY);
    let mut loaded_at = Instant::now();
    // The tickets this socket's agent is on, and what they are doing there.
    let mut present: HashMap<i64, PresenceState> = HashMap::new();
    metrics::gauge!("kefu_live_sockets").increment(1.0);
    if send(&mut socket, &LiveMessage::Hello { agent_id: agent.id.0 }).await {
        loop {
            tokio::select! {
                _ = state.shutdown.cancelled() => {
                    let frame = CloseFrame { code: 1001, reason: "server restarting".into() };
                    let _ = socket.send(Message::Close(Some(frame))).await;
                    break;
                }
                received = notices.recv() => {
                    let message = match received {
                        Ok(Notice::Ticket(notice)) => {
                            if loaded_at.elapsed() > RELOAD_AGENT_EVERY {
                                loaded_at = Instant::now();
                                match state.app.active_agent(agent.id).await {
                                    Ok(Some(fresh)) => agent = fresh,
                                    Ok(None) => break,
                                    Err(_) => {}
                                }
                            }
                            message_for(&agent, &notice)
                        }
                        Ok(Notice::Presence(notice)) => {
                            // Answer a newcomer on a ticket we are on, so they see us at once.
                            if notice.fresh && notice.agent_id != agent.id.0 && notice.state != PresenceState::Left
                                && let Some(mine) = present.get(&notice.ticket_id) {
                                    let _ = state.app.announce_presence(&agent, TicketId(notice.ticket_id), *mine, false).await;
                                }
                            presence_for(&agent, &notice)
                        }
                        Ok(Notice::Mention(notice)) => mention_for(&agent, &notice),
                        Ok(Notice::Customer { .. } | Notice::Article { .. }) => None,
                        Ok(Notice::Notification(notice)) => (notice.agent_id == agent.id.0).then_some(LiveMessage::Notification {
                            notification_id: notice.notification_id,
                            kind: notice.kind,
                            ticket_id: notice.ticket_id,
                            title: notice.title,
                            at: notice.at,
                        }),
                        Err(RecvError::Lagged(missed)) => Some(LiveMessage::Lagged { missed }),
                        Err(RecvError::Closed) => break,
                    };
                    if let Some(message) = message
                        && !send(&mut socket, &message).await {
                            break;
                        }
                }
                incoming = socket.recv() => match incoming {
                    None | Some(Err(_)) | Some(Ok(Message::Close(_))) => break,
                    Some(Ok(Message::Text(text))) => {
                        let Ok(message) = serde_json::from_str::<ClientMessage>(&text) else { continue };
                        let (ticket_id, presence) = message.parts();
                        let fresh = !present.contains_key(&ticket_id);
                        if presence == PresenceState::Left {
                            if present.remove(&ticket_id).is_none() {
                                continue;
                            }
                        } else if fresh && present.len() >= MAX_PRESENCES {
                            continue;
                        }
                        if state.app.announce_presence(&agent, TicketId(ticket_id), presence, fresh).await.is_ok()
                            && presence != PresenceState::Left {
                                present.insert(ticket_id, presence);
                            }
                    }
                    Some(Ok(_)) => {}
                },
                _ = ping.tick() => {
                    if socket.send(Message::Ping(Vec::new().into())).await.is_err() {
                        break;
                    }
                }
            }
        }
    }
    for ticket_id in present.into_keys() {
        let _ = state.app.announce_presence(&agent, TicketId(ticket_id), PresenceState::Left, false).await;
    }
    metrics::gauge!("kefu_live_sockets").decrement(1.0);
}

/// The live route.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(open_live_socket))
}

#[cfg(test)]
mod tests {
    use super::*;
    use kefu_domain::Role;

    fn agent(restricted: bool) -> Agent {
        Agent {
            id: AgentId(1),
            email: "a@example.com".into(),
            name: "A".into(),
            role: Role::Agent,
            restricted_to_groups: restricted,
            group_ids: vec![GroupId(10)],
            active: true,
        }
    }

    fn notice(group: Option<i64>, previous_group: Option<i64>) -> TicketNotice {
        TicketNotice {
            ticket_id: 5,
            number: 105,
            version: 2,
            change: TicketChange::Updated,
            group_id: group,
            assignee_id: None,
            previous_group_id: previous_group,
            previous_assignee_id: None,
            actor_agent_id: Some(2),
            event_ids: vec![9],
            internal: None,
            at: DateTime::default(),
        }
    }

    #[test]
    fn restricted_agents_only_hear_of_their_tickets() {
        assert!(matches!(message_for(&agent(true), &notice(Some(10), None)), Some(LiveMessage::Ticket { .. })));
        assert!(message_for(&agent(true), &notice(Some(11), None)).is_none());
        assert!(matches!(
            message_for(&agent(true), &notice(Some(11), Some(10))),
            Some(LiveMessage::TicketRemoved { ticket_id: 5 })
        ));
        assert!(matches!(message_for(&agent(false), &notice(Some(11), None)), Some(LiveMessage::Ticket { .. })));
    }

    #[test]
    fn cross_site_handshakes_are_refused() {
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, "kefu.example.com".parse().expect("header"));
        assert!(same_origin(&headers));
        headers.insert(header::ORIGIN, "https://kefu.example.com".parse().expect("header"));
        assert!(same_origin(&headers));
        headers.insert(header::ORIGIN, "https://evil.example".parse().expect("header"));
        assert!(!same_origin(&headers));
    }
}
