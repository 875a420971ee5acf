//! A short memory of who a request is: API token → agent and agent id → agent, kept for two seconds, so a
//! burst of requests by one agent or script does not read the token, the agent and their groups each time
//! (three queries per request, more than many requests do otherwise).
//!
//! Every change on this node to an agent, their groups or their tokens forgets everything at once, so a
//! revoked token or a deactivated agent is refused by the next request. Only a change made elsewhere (another
//! node, the `kefu user` command, the database by hand) can take up to [`TTL`] to be seen.
//!
//! What it is not: no cache of sessions (the session store decides whether a cookie is signed in) and never a
//! source of truth: a miss or an expired entry reads the database.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use kefu_domain::{Agent, AgentId};

/// How long an answer is kept.
pub(crate) const TTL: Duration = Duration::from_secs(2);
/// At most this many answers are kept; past it the memory starts over.
const CAPACITY: usize = 4096;

/// What a request authenticated with.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Credential {
    /// An API token, by its hash.
    Token(String),
    /// A session's agent id.
    Agent(AgentId),
}

/// The remembered answers.
#[derive(Default)]
pub(crate) struct AuthCache {
    answers: Mutex<HashMap<Credential, (Agent, Instant)>>,
}

impl AuthCache {
    fn answers(&self) -> std::sync::MutexGuard<'_, HashMap<Credential, (Agent, Instant)>> {
        self.answers.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The agent remembered for this credential, if still fresh.
    pub(crate) fn get(&self, credential: &Credential) -> Option<Agent> {
        let answers = self.answers();
        let (agent, at) = answers.get(credential)?;
        (at.elapsed() < TTL).then(|| agent.clone())
    }

    /// Remembers an answer read from the database.
    pub(crate) fn put(&self, credential: Credential, agent: Agent) {
        let mut answers = self.answers();
        if answers.len() >= CAPACITY {
            answers.clear();
        }
        answers.insert(credential, (agent, Instant::now()));
    }

    /// Forgets everything: an agent, a group membership or a token changed.
    pub(crate) fn clear(&self) {
        self.answers().clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn agent(id: i64) -> Agent {
        Agent {
            id: AgentId(id),
            email: format!("a{id}@example.com"),
            name: "A".into(),
            role: kefu_domain::Role::Agent,
            active: true,
            restricted_to_groups: false,
            group_ids: vec![],
        }
    }

    #[test]
    fn answers_are_kept_until_cleared() {
        let cache = AuthCache::default();
        let token = Credential::Token("hash".into());
        assert_eq!(cache.get(&token), None);
        cache.put(token.clone(), agent(1));
        assert_eq!(cache.get(&token).map(|agent| agent.id), Some(AgentId(1)));
        assert_eq!(cache.get(&Credential::Agent(AgentId(1))), None, "each credential on its own");
        cache.clear();
        assert_eq!(cache.get(&token), None);
    }

    #[test]
    fn a_full_cache_starts_over_instead_of_growing() {
        let cache = AuthCache::default();
        for id in 0..CAPACITY as i64 + 1 {
            cache.put(Credential::Agent(AgentId(id)), agent(id));
        }
        assert_eq!(cache.answers().len(), 1);
    }
}
