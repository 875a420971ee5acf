//! Customers, their identities across channels, and organizations.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::{CustomerId, DomainError, IdentityId, OrganizationId, Result};

/// The kind of an identity. Email addresses and phone numbers are normalized; external ids (a WeChat
/// openid, a WhatsApp number id, a CRM id) are kept as given, namespaced by their provider.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum IdentityKind {
    /// An email address, lower-cased.
    Email,
    /// A phone number, digits with an optional leading `+`.
    Phone,
    /// An id issued by another system, such as `wechat` or `crm`.
    External {
        /// The issuing system: 1-32 characters of `a-z`, `0-9`, `.`, `_` and `-`.
        provider: String,
    },
}

impl IdentityKind {
    /// The stored name of the kind: `email`, `phone` or `external`.
    pub fn as_str(&self) -> &'static str {
        match self {
            IdentityKind::Email => "email",
            IdentityKind::Phone => "phone",
            IdentityKind::External { .. } => "external",
        }
    }

    /// The provider of an external id; empty for email and phone.
    pub fn provider(&self) -> &str {
        match self {
            IdentityKind::External { provider } => provider,
            _ => "",
        }
    }
}

/// One way to recognise a customer. The triple (kind, provider, value) is unique across all customers.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Identity {
    /// What kind of identity.
    pub kind: IdentityKind,
    /// The normalized value.
    pub value: String,
}

impl fmt::Display for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            IdentityKind::External { provider } => write!(f, "{provider}:{}", self.value),
            kind => write!(f, "{}:{}", kind.as_str(), self.value),
        }
    }
}

impl Identity {
    /// Parses and normalizes an identity from its kind name (`email`, `phone`, `external`), its provider
    /// (only for `external`) and its value.
    pub fn parse(kind: &str, provider: Option<&str>, value: &str) -> Result<Identity> {
        let value = value.trim();
        match (kind, provider.map(str::trim).filter(|p| !p.is_empty())) {
            ("email", None) => Identity::email(value),
            ("phone", None) => Identity::phone(value),
            ("external", Some(provider)) => Identity::external(provider, value),
            ("external", None) => Err(DomainError::invalid("provider", "an external identity needs a provider")),
            ("email" | "phone", Some(_)) => {
                Err(DomainError::invalid("provider", "only external identities have a provider"))
            }
            (other, _) => Err(DomainError::invalid(
                "kind",
                format!("unknown identity kind {other:?}; expected one of email, phone, external"),
            )),
        }
    }

    /// An email identity: trimmed and lower-cased, one `@` with something on both sides, no spaces.
    pub fn email(value: &str) -> Result<Identity> {
        let value = value.trim().to_lowercase();
        let valid = value.len() <= 254
            && !value.chars().any(|c| c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | ',' | ';'))
            && matches!(value.split_once('@'), Some((local, domain))
                if !local.is_empty() && !domain.is_empty() && !domain.contains('@')
                    && !domain.starts_with('.') && !domain.ends_with('.'));
        if valid {
            Ok(Identity { kind: IdentityKind::Email, value })
        } else {
            Err(DomainError::invalid("email", format!("{value:?} is not an email address")))
        }
    }

    /// A phone identity: spaces, dashes, dots and parentheses dropped; 5 to 20 digits, optional leading `+`.
    pub fn phone(value: &str) -> Result<Identity> {
        let compact: String = value.chars().filter(|c| !matches!(c, ' ' | '-' | '.' | '(' | ')' | '\u{a0}')).collect();
        let digits = compact.strip_prefix('+').unwrap_or(&compact);
        let valid = (5..=20).contains(&digits.len()) && digits.chars().all(|c| c.is_ascii_digit());
        if valid {
            Ok(Identity { kind: IdentityKind::Phone, value: compact })
        } else {
            Err(DomainError::invalid("phone", format!("{value:?} is not a phone number")))
        }
    }

    /// An external identity such as a WeChat openid: the value is kept exactly, trimmed.
    pub fn external(provider: &str, value: &str) -> Result<Identity> {
        let provider = provider.trim().to_lowercase();
        let provider_valid = (1..=32).contains(&provider.len())
            && provider.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-'));
        if !provider_valid {
            return Err(DomainError::invalid(
                "provider",
                "a provider is 1-32 characters of a-z, 0-9, '.', '_' and '-'",
            ));
        }
        let value = value.trim();
        if value.is_empty() || value.len() > 255 || value.chars().any(char::is_control) {
            return Err(DomainError::invalid("value", "an external id is 1-255 characters without control characters"));
        }
        Ok(Identity { kind: IdentityKind::External { provider }, value: value.to_owned() })
    }

    /// The domain of an email identity (`example.com`), used to place customers in organizations.
    pub fn email_domain(&self) -> Option<&str> {
        match self.kind {
            IdentityKind::Email => self.value.split_once('@').map(|(_, domain)| domain),
            _ => None,
        }
    }
}

/// A customer: one person, however many channels they write from.
#[derive(Debug, Clone, PartialEq)]
pub struct Customer {
    /// Id.
    pub id: CustomerId,
    /// Display name.
    pub name: String,
    /// Organization they belong to.
    pub organization_id: Option<OrganizationId>,
    /// Service tier such as `vip`, lower-case; `None` for the default tier.
    pub tier: Option<String>,
    /// Preferred language (`zh-CN`, `en` ...).
    pub locale: Option<String>,
    /// Free-form attributes (CRM id, plan, city ...).
    pub attributes: BTreeMap<String, Value>,
    /// Every identity, each with its id.
    pub identities: Vec<(IdentityId, Identity)>,
    /// Set when this customer was merged into another.
    pub merged_into_id: Option<CustomerId>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

impl Customer {
    /// Checks and normalizes a display name (1-200 characters).
    pub fn normalize_name(name: &str) -> Result<String> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 200 || name.chars().any(char::is_control) {
            return Err(DomainError::invalid("name", "a name is 1-200 characters without control characters"));
        }
        Ok(name.to_owned())
    }

    /// Checks and normalizes a tier: 1-32 characters of `a-z`, `0-9`, `_` and `-`, lower-cased.
    pub fn normalize_tier(tier: &str) -> Result<String> {
        let tier = tier.trim().to_lowercase();
        let valid = (1..=32).contains(&tier.len())
            && tier.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '_' | '-'));
        if valid {
            Ok(tier)
        } else {
            Err(DomainError::invalid("tier", "a tier is 1-32 characters of a-z, 0-9, '_' and '-'"))
        }
    }

    /// The name to show when a customer arrives with only an identity: the local part of an email, or the
    /// identity's value.
    pub fn default_name(identity: &Identity) -> String {
        match identity.kind {
            IdentityKind::Email => identity.value.split('@').next().unwrap_or(&identity.value).to_owned(),
            _ => identity.value.clone(),
        }
    }
}

/// An organization customers belong to.
#[derive(Debug, Clone, PartialEq)]
pub struct Organization {
    /// Id.
    pub id: OrganizationId,
    /// Unique name.
    pub name: String,
    /// Email domains whose new customers join this organization automatically.
    pub domains: Vec<String>,
    /// Default tier of its members' tickets, e.g. `vip` for a key account.
    pub tier: Option<String>,
    /// Notes for agents.
    pub notes: String,
    /// Free-form attributes.
    pub attributes: BTreeMap<String, Value>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

impl Organization {
    /// Normalizes a list of email domains: lower-case, without a leading `@`, deduplicated.
    pub fn normalize_domains(domains: &[String]) -> Result<Vec<String>> {
        let mut normalized = Vec::with_capacity(domains.len());
        for domain in domains {
            let domain = domain.trim().trim_start_matches('@').to_lowercase();
            let valid = domain.contains('.')
                && domain.len() <= 253
                && domain.chars().all(|c| c.is_alphanumeric() || matches!(c, '.' | '-'));
            if !valid {
                return Err(DomainError::invalid("domains", format!("{domain:?} is not a domain")));
            }
            normalized.push(domain);
        }
        normalized.sort();
        normalized.dedup();
        Ok(normalized)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(kind: &str, provider: Option<&str>, value: &str, expect: Option<&str>) {
        let parsed = Identity::parse(kind, provider, value).ok().map(|identity| identity.to_string());
        assert_eq!(parsed.as_deref(), expect, "{kind} {provider:?} {value:?}");
    }

    #[test]
    fn identities_are_normalized() {
        check("email", None, "  Li.Wei@Example.COM ", Some("email:li.wei@example.com"));
        check("email", None, "no-at-sign", None);
        check("email", None, "a@b@c", None);
        check("email", None, "a b@c.com", None);
        check("phone", None, "+86 138-0013-8000", Some("phone:+8613800138000"));
        check("phone", None, "(555) 123.4567", Some("phone:5551234567"));
        check("phone", None, "12ab", None);
        check(
            "external",
            Some("WeChat"),
            " oUpF8uMuAJO_M2pxb1Q9zNjWeS6o ",
            Some("wechat:oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"),
        );
        check("external", None, "x", None);
        check("email", Some("x"), "a@b.c", None);
        check("fax", None, "1", None);
    }

    #[test]
    fn default_name_comes_from_the_identity() {
        let email = Identity::email("wang.fang@example.cn").expect("email");
        assert_eq!(Customer::default_name(&email), "wang.fang");
        assert_eq!(email.email_domain(), Some("example.cn"));
    }

    #[test]
    fn domains_and_tiers_are_normalized() {
        let domains =
            Organization::normalize_domains(&["@Example.com".into(), "example.com".into(), "例子.中国".into()])
                .expect("valid domains");
        assert_eq!(domains, ["example.com", "例子.中国"]);
        assert!(Organization::normalize_domains(&["localhost".into()]).is_err());
        assert_eq!(Customer::normalize_tier(" VIP "), Ok("vip".into()));
        assert!(Customer::normalize_tier("v i p").is_err());
    }
}
