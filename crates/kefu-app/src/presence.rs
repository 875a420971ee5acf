//! Presence and @mentions: who is looking at or writing on a ticket, and who a note calls for.
//!
//! Presence is ephemeral: [`App::announce_presence`] checks that the agent may see the ticket and publishes a
//! [`PresenceNotice`] straight on the bus (no outbox, nothing stored). Live sockets forward it to the other
//! agents who may see the ticket; screens drop an entry that is not repeated within a minute.
//!
//! Mentions are durable: [`App::mentioned_agents`] resolves the `@handles` of an internal note
//! (`kefu_domain::parse_mentions`) inside the note's transaction, and the note's use case queues a
//! [`MentionNotice`] in the outbox with it.

use kefu_domain::{Agent, AgentId, Ticket, TicketId, parse_mentions};
use kefu_store::Tx;

use crate::bus::{Notice, PresenceNotice, PresenceState};
use crate::{App, Result, require_active};

impl App {
    /// Tells the other agents who may see the ticket what `agent` is doing on it. `fresh` marks an arrival,
    /// which the agents already there answer with their own presence.
    pub async fn announce_presence(
        &self,
        agent: &Agent,
        ticket_id: TicketId,
        state: PresenceState,
        fresh: bool,
    ) -> Result<()> {
        require_active(agent)?;
        let ticket = self.visible_ticket(&self.store.repo(), agent, ticket_id, false).await?;
        self.bus.publish(Notice::Presence(PresenceNotice {
            ticket_id: ticket.id.0,
            group_id: ticket.group_id.map(|id| id.0),
            assignee_id: ticket.assignee_id.map(|id| id.0),
            agent_id: agent.id.0,
            agent_name: agent.name.clone(),
            state,
            fresh,
            at: self.now(),
        }));
        Ok(())
    }

    /// The agents an internal note by `author` on `ticket` mentions: active, able to see the ticket, and not
    /// the author. Unknown handles are ignored.
    pub(crate) async fn mentioned_agents(
        &self,
        tx: &Tx,
        ticket: &Ticket,
        author: &Agent,
        text: &str,
    ) -> Result<Vec<AgentId>> {
        let mentions = parse_mentions(text);
        if mentions.is_empty() {
            return Ok(vec![]);
        }
        let agents = tx.repo().list_agents().await?;
        Ok(agents
            .into_iter()
            .filter(|agent| agent.active && agent.id != author.id && agent.can_view(ticket))
            .filter(|agent| mentions.iter().any(|mention| mention.names(agent.id.0, &agent.email)))
            .map(|agent| agent.id)
            .collect())
    }
}
