//! Exit statuses a script can rely on (documented in docs/operations.md, "Exit statuses"):
//! the kind of failure, never parsed out of the message.

use std::fmt;

/// Why a subcommand failed, as its exit status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// 1: the operation failed (database unreachable, I/O error, verification failed).
    Failed = 1,
    // 2 is clap's: a usage error (unknown flag, missing argument).
    /// 3: the named user, client or key does not exist.
    NotFound = 3,
    /// 4: refused: it would collide with existing data (name taken) or needs confirmation
    /// (`user remove` of a user with live sessions without `--yes`).
    Refused = 4,
    /// 5: a value is invalid (bad redirect URI, unknown grant, empty password).
    Invalid = 5,
}

/// A failed subcommand: its exit status and the one-line message printed on stderr.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The exit status.
    pub exit: Exit,
    /// What went wrong (never a secret).
    pub message: String,
}

impl Failure {
    /// A failure of kind `exit`.
    pub fn new(exit: Exit, message: impl Into<String>) -> Self {
        Self {
            exit,
            message: message.into(),
        }
    }

    /// The process exit status.
    pub fn code(&self) -> u8 {
        self.exit as u8
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl From<String> for Failure {
    fn from(message: String) -> Self {
        Self::new(Exit::Failed, message)
    }
}

impl From<gatehouse_domain::Error> for Failure {
    fn from(e: gatehouse_domain::Error) -> Self {
        use gatehouse_domain::Error as E;
        let exit = match &e {
            E::NotFound(_) => Exit::NotFound,
            E::Conflict(_) => Exit::Refused,
            E::InvalidRequest(_) | E::InvalidScope => Exit::Invalid,
            _ => Exit::Failed,
        };
        Self::new(exit, e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domain_errors_map_to_their_statuses() {
        use gatehouse_domain::Error as E;
        assert_eq!(Failure::from(E::NotFound("user x".into())).code(), 3);
        assert_eq!(Failure::from(E::Conflict("taken".into())).code(), 4);
        assert_eq!(Failure::from(E::InvalidRequest("bad".into())).code(), 5);
        assert_eq!(Failure::from("disk full".to_owned()).code(), 1);
    }
}
