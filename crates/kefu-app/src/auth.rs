//! Authentication: passwords (argon2id), API tokens (random, stored as SHA-256), and TOTP two-factor codes.
//!
//! Sessions and cookies are the HTTP layer's business; this module answers "who is this?" for a password,
//! a token or an agent id, and manages the secrets behind those answers.

use argon2::Argon2;
use argon2::password_hash::{PasswordHasher, PasswordVerifier, phc::PasswordHash};
use base64::Engine;
use chrono::Duration;
use kefu_domain::{Agent, AgentId, ApiTokenId, DomainError};
use kefu_store::ApiTokenRecord;
use rand::RngCore;
use sha2::{Digest, Sha256};
use totp_rs::{Builder as TotpBuilder, Secret, Totp};

use crate::auth_cache::Credential;
use crate::{App, AppError, Entity, Result, require_active};

/// Every API token starts with this, so secret scanners can recognise a leaked one.
pub const TOKEN_PREFIX: &str = "kefu_";
const MIN_PASSWORD_CHARS: usize = 10;
const MAX_PASSWORD_BYTES: usize = 1024;
/// A token's `last_used_at` is written at most this often.
const TOKEN_TOUCH_INTERVAL: Duration = Duration::minutes(1);
const TOTP_ISSUER: &str = "Kefu";

/// Refuses passwords that are too short or absurdly long.
pub fn check_password_strength(password: &str) -> Result<()> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(DomainError::invalid(
            "password",
            format!("a password has at least {MIN_PASSWORD_CHARS} characters"),
        )
        .into());
    }
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(
            DomainError::invalid("password", format!("a password has at most {MAX_PASSWORD_BYTES} bytes")).into()
        );
    }
    Ok(())
}

/// Hashes a password with argon2id (default parameters, random salt) off the async threads.
pub async fn hash_password(password: String) -> Result<String> {
    tokio::task::spawn_blocking(move || {
        Argon2::default()
            .hash_password(password.as_bytes())
            .map(|hash| hash.to_string())
            .map_err(|error| AppError::Internal(format!("password hashing failed: {error}")))
    })
    .await
    .map_err(|error| AppError::Internal(format!("password hashing failed: {error}")))?
}

/// Checks a password against a PHC string off the async threads.
pub(crate) async fn verify_password(password: String, hash: String) -> bool {
    tokio::task::spawn_blocking(move || {
        PasswordHash::new(&hash)
            .map(|parsed| Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
            .unwrap_or(false)
    })
    .await
    .unwrap_or(false)
}

/// A hash to verify against when the email is unknown, so both paths cost the same time.
pub(crate) async fn dummy_hash() -> &'static str {
    static DUMMY: tokio::sync::OnceCell<String> = tokio::sync::OnceCell::const_new();
    DUMMY.get_or_init(|| async { hash_password("not a real password".into()).await.unwrap_or_default() }).await
}

/// The SHA-256 of a token, as stored.
pub(crate) fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

fn totp_for(secret_base32: &str, account: &str) -> Result<Totp> {
    let secret = Secret::try_from_base32(secret_base32)
        .map_err(|_| AppError::Internal("stored TOTP secret is corrupt".into()))?;
    TotpBuilder::new()
        .with_secret(secret)
        .with_account_name(account.replace(':', "_"))
        .with_issuer(Some(TOTP_ISSUER))
        .build()
        .map_err(|error| AppError::Internal(format!("TOTP setup failed: {error}")))
}

/// What an agent needs to add Kefu to an authenticator app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TotpSetup {
    /// The base32 secret, for typing in by hand.
    pub secret: String,
    /// The `otpauth://` URL, for a QR code.
    pub otpauth_url: String,
}

impl App {
    /// Checks an email and password (and a TOTP code when the agent has two-factor on). Unknown emails,
    /// wrong passwords and deactivated agents all fail the same way and take the same time.
    pub async fn sign_in(&self, email: &str, password: &str, totp_code: Option<&str>) -> Result<Agent> {
        let email = email.trim().to_lowercase();
        let record = self.store.repo().agent_by_email(&email).await?;
        let Some(record) = record.filter(|record| record.agent.active && record.password_hash.is_some()) else {
            verify_password(password.to_owned(), dummy_hash().await.to_owned()).await;
            return Err(AppError::InvalidCredentials);
        };
        let hash = record.password_hash.clone().unwrap_or_default();
        if !verify_password(password.to_owned(), hash).await {
            return Err(AppError::InvalidCredentials);
        }
        if record.totp_enabled {
            let code = totp_code.map(str::trim).filter(|code| !code.is_empty()).ok_or(AppError::TotpRequired)?;
            self.check_totp(&record.agent, record.totp_secret.as_deref().unwrap_or_default(), code).await?;
        }
        Ok(record.agent)
    }

    async fn check_totp(&self, agent: &Agent, secret: &str, code: &str) -> Result<()> {
        let totp = totp_for(secret, &agent.email)?;
        let now = u64::try_from(self.now().timestamp()).unwrap_or(0);
        let step = totp.check(code, now).ok_or(AppError::TotpInvalid)?;
        let tx = self.store.begin().await?;
        let fresh = tx.repo().use_totp_step(agent.id, i64::try_from(step).unwrap_or(i64::MAX)).await?;
        tx.commit().await?;
        if fresh { Ok(()) } else { Err(AppError::TotpInvalid) }
    }

    /// The active agent with this id (a session's agent), as loaded at most a moment ago ([`crate::auth_cache`]),
    /// so role and groups are current.
    pub async fn active_agent(&self, id: AgentId) -> Result<Option<Agent>> {
        let credential = Credential::Agent(id);
        if let Some(agent) = self.auth_cache.get(&credential) {
            return Ok(Some(agent));
        }
        let agent = self.store.repo().agent(id).await?.map(|record| record.agent).filter(|agent| agent.active);
        if let Some(agent) = &agent {
            self.auth_cache.put(credential, agent.clone());
        }
        Ok(agent)
    }

    /// The active agent owning an unrevoked API token.
    pub async fn agent_for_token(&self, token: &str) -> Result<Option<Agent>> {
        if !token.starts_with(TOKEN_PREFIX) {
            return Ok(None);
        }
        let hash = token_hash(token);
        let credential = Credential::Token(hash.clone());
        if let Some(agent) = self.auth_cache.get(&credential) {
            return Ok(Some(agent));
        }
        let Some(record) = self.store.repo().active_api_token(&hash).await? else {
            return Ok(None);
        };
        let now = self.now();
        if record.last_used_at.is_none_or(|used| now - used > TOKEN_TOUCH_INTERVAL) {
            let tx = self.store.begin().await?;
            tx.repo().touch_api_token(record.id, now).await?;
            tx.commit().await?;
        }
        let agent = self.active_agent(record.agent_id).await?;
        if let Some(agent) = &agent {
            self.auth_cache.put(credential, agent.clone());
        }
        Ok(agent)
    }

    /// Forgets who recent tokens and sessions belong to: an agent, their groups or a token changed.
    pub(crate) fn agents_changed(&self) {
        self.auth_cache.clear();
    }

    /// Creates an API token for the agent; the plain token is returned once and never stored.
    pub async fn create_api_token(&self, agent: &Agent, name: &str) -> Result<(String, ApiTokenRecord)> {
        require_active(agent)?;
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(DomainError::invalid("name", "a token name is 1-100 characters").into());
        }
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        let token = format!("{TOKEN_PREFIX}{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes));
        let tx = self.store.begin().await?;
        let record = tx.repo().insert_api_token(agent.id, name, &token_hash(&token), self.now()).await?;
        tx.commit().await?;
        Ok((token, record))
    }

    /// The agent's tokens (without secrets).
    pub async fn list_api_tokens(&self, agent: &Agent) -> Result<Vec<ApiTokenRecord>> {
        require_active(agent)?;
        Ok(self.store.repo().api_tokens(agent.id).await?)
    }

    /// Revokes one of the agent's own tokens.
    pub async fn revoke_api_token(&self, agent: &Agent, id: ApiTokenId) -> Result<()> {
        require_active(agent)?;
        let tx = self.store.begin().await?;
        if !tx.repo().revoke_api_token(agent.id, id, self.now()).await? {
            return Err(AppError::NotFound(Entity::ApiToken));
        }
        tx.commit().await?;
        self.agents_changed();
        Ok(())
    }

    /// Starts two-factor setup: a new secret, not enforced until [`App::confirm_totp`] sees a valid code.
    pub async fn begin_totp_setup(&self, agent: &Agent) -> Result<TotpSetup> {
        require_active(agent)?;
        let secret = Secret::generate().to_base32();
        let totp = totp_for(&secret, &agent.email)?;
        let otpauth_url = totp.to_url().map_err(|error| AppError::Internal(format!("TOTP setup failed: {error}")))?;
        let tx = self.store.begin().await?;
        tx.repo().set_totp(agent.id, Some(&secret), false, self.now()).await?;
        tx.commit().await?;
        Ok(TotpSetup { secret, otpauth_url })
    }

    /// Turns two-factor on once the agent proves their authenticator works.
    pub async fn confirm_totp(&self, agent: &Agent, code: &str) -> Result<()> {
        require_active(agent)?;
        let record = self.store.repo().agent(agent.id).await?.ok_or(AppError::NotFound(Entity::Agent))?;
        let secret = record.totp_secret.ok_or_else(|| DomainError::invalid("code", "start two-factor setup first"))?;
        self.check_totp(agent, &secret, code).await?;
        let tx = self.store.begin().await?;
        tx.repo().set_totp(agent.id, Some(&secret), true, self.now()).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Turns two-factor off; needs a current code.
    pub async fn disable_totp(&self, agent: &Agent, code: &str) -> Result<()> {
        require_active(agent)?;
        let record = self.store.repo().agent(agent.id).await?.ok_or(AppError::NotFound(Entity::Agent))?;
        match (record.totp_enabled, record.totp_secret) {
            (true, Some(secret)) => self.check_totp(agent, &secret, code).await?,
            _ => {
                return Err(DomainError::invalid("code", "two-factor authentication is not on").into());
            }
        }
        let tx = self.store.begin().await?;
        tx.repo().set_totp(agent.id, None, false, self.now()).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Changes the agent's own password, given the current one.
    pub async fn change_password(&self, agent: &Agent, current: &str, new: &str) -> Result<()> {
        require_active(agent)?;
        self.sign_in_password_only(agent, current).await?;
        check_password_strength(new)?;
        let hash = hash_password(new.to_owned()).await?;
        let tx = self.store.begin().await?;
        tx.repo().set_password_hash(agent.id, Some(&hash), self.now()).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn sign_in_password_only(&self, agent: &Agent, password: &str) -> Result<()> {
        let record = self.store.repo().agent(agent.id).await?.ok_or(AppError::NotFound(Entity::Agent))?;
        match record.password_hash {
            Some(hash) if verify_password(password.to_owned(), hash.clone()).await => Ok(()),
            _ => Err(AppError::InvalidCredentials),
        }
    }

    /// Whether the agent has two-factor on.
    pub async fn totp_enabled(&self, agent: &Agent) -> Result<bool> {
        Ok(self.store.repo().agent(agent.id).await?.is_some_and(|record| record.totp_enabled))
    }
}
