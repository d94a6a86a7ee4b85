//! The link to the server: connects when it can, and after a failure
//! waits (100 ms doubling to 5 s) before it tries again; frames that come
//! while it waits are dropped, never queued.

use std::sync::Arc;
use std::time::{Duration, Instant};

use edgehide::client::{Client, ClientConfig};
use edgehide::display::Link as State;
use edgehide::{Encryptor, Error};

const FIRST_WAIT: Duration = Duration::from_millis(100);
const LONGEST_WAIT: Duration = Duration::from_secs(5);
/// Failures in a row after which the server counts as offline.
const OFFLINE_AFTER: u32 = 3;

pub struct Link {
    server: String,
    model: String,
    encryptor: Arc<Encryptor>,
    config: ClientConfig,
    client: Option<Client>,
    state: State,
    failures: u32,
    next_try: Instant,
}

impl Link {
    pub fn new(server: &str, model: &str, encryptor: Arc<Encryptor>, config: ClientConfig) -> Link {
        Link {
            server: server.to_string(),
            model: model.to_string(),
            encryptor,
            config,
            client: None,
            state: State::Connecting,
            failures: 0,
            next_try: Instant::now(),
        }
    }

    pub fn state(&self) -> State {
        self.state
    }

    /// The client, when the link may be used now: connected, or connecting
    /// now succeeded. `None` while it waits after a failure.
    pub fn ready(&mut self, now: Instant) -> Option<&Client> {
        if now < self.next_try {
            return None;
        }
        if self.client.is_none() {
            match Client::connect(
                &self.server,
                &self.model,
                self.encryptor.clone(),
                self.config.clone(),
            ) {
                Ok(c) => self.client = Some(c),
                Err(e) => {
                    self.failed(&e, now);
                    return None;
                }
            }
        }
        self.client.as_ref()
    }

    pub fn succeeded(&mut self) {
        self.failures = 0;
        self.state = State::Ok;
    }

    /// Records a failure: a model that expects another encryption stops
    /// everything until it changes; otherwise the link waits, longer each
    /// time, and counts as offline after a few failures in a row.
    pub fn failed(&mut self, e: &Error, now: Instant) {
        self.failures = self.failures.saturating_add(1);
        let wait = FIRST_WAIT
            .saturating_mul(1 << self.failures.min(16).saturating_sub(1))
            .min(LONGEST_WAIT);
        self.next_try = now + wait;
        self.state = match e {
            Error::ServerMismatch(_) => {
                self.client = None;
                self.next_try = now + LONGEST_WAIT;
                State::ModelMismatch
            }
            _ if self.failures >= OFFLINE_AFTER => State::Offline,
            _ => State::Retrying,
        };
    }
}
