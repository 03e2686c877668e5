//! Dispatch's queue in memory: how an accepted message reaches dispatch
//! without a trip through the store.
//!
//! Accept reserves a place in the queue before it stores a message; with a
//! place, the message is stored `queued` and claimed by this node in the
//! same transaction that stores it, and handed over right after the commit.
//! Without one (the queue is full: dispatch is behind), it is stored
//! `accepted` and dispatch reads it back from the store when it has room,
//! oldest first. Either way nothing waits unbounded in memory, and nothing
//! in the queue is lost by a crash: it is all in the store, claimed by this
//! node, and released at the next start.

use tokio::sync::mpsc;

use crate::store::ClaimedMessage;

/// The accept side of the queue. Cheap to clone.
#[derive(Clone, Debug)]
pub struct DispatchQueue {
    sender: mpsc::Sender<ClaimedMessage>,
    node: String,
}

/// The dispatch side of the queue.
#[derive(Debug)]
pub struct QueueReceiver {
    pub(crate) receiver: mpsc::Receiver<ClaimedMessage>,
}

/// A place in the queue, held while the message is stored.
#[derive(Debug)]
pub struct Reservation {
    permit: mpsc::OwnedPermit<ClaimedMessage>,
}

/// A queue of `capacity` messages for the dispatcher of node `node`.
pub fn queue(node: &str, capacity: usize) -> (DispatchQueue, QueueReceiver) {
    let (sender, receiver) = mpsc::channel(capacity.max(1));
    (
        DispatchQueue {
            sender,
            node: node.to_string(),
        },
        QueueReceiver { receiver },
    )
}

impl DispatchQueue {
    /// A place for one message; `None` when the queue is full or
    /// dispatch has stopped (the message then goes through the store).
    pub fn reserve(&self) -> Option<Reservation> {
        self.sender
            .clone()
            .try_reserve_owned()
            .ok()
            .map(|permit| Reservation { permit })
    }

    /// The node whose dispatcher reads the queue: the claim's owner.
    pub fn node(&self) -> &str {
        &self.node
    }
}

impl Reservation {
    /// Hands the stored message to dispatch.
    pub fn send(self, claim: ClaimedMessage) {
        self.permit.send(claim);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_queue_reserves_nothing_and_a_used_place_frees_when_read() {
        let (queue, mut receiver) = super::queue("n1", 1);
        let place = queue.reserve().expect("a place in an empty queue");
        assert!(queue.reserve().is_none(), "the only place is taken");
        drop(place);
        let place = queue
            .reserve()
            .expect("a dropped reservation frees its place");
        place.send(claim("m1"));
        assert!(queue.reserve().is_none(), "the message takes the place");
        let got = receiver.receiver.try_recv().expect("the message is queued");
        assert_eq!(got.message.id, "m1");
        assert!(queue.reserve().is_some(), "reading it frees the place");
    }

    fn claim(id: &str) -> ClaimedMessage {
        use crate::store::{NewMessage, Origin, StoredAddress};
        let address = StoredAddress {
            ton: 1,
            npi: 1,
            addr: "1".into(),
        };
        NewMessage {
            callback_url: None,
            client_ref: None,
            tags: Vec::new(),
            id: id.into(),
            account: "a".into(),
            cost: 1,
            source: address.clone(),
            destination: address,
            esm_class: 0,
            data_coding: 0,
            protocol_id: 0,
            priority: 0,
            registered_delivery: 0,
            schedule_at: None,
            expires_at: None,
            payload: Vec::new(),
            part: None,
            segments: 1,
            origin: Origin {
                protocol: "smpp".into(),
                remote_addr: None,
                tls: false,
                session_id: None,
            },
            accepted_at: std::time::SystemTime::UNIX_EPOCH,
            trace_detail: String::new(),
            claimed_by: Some("n1".into()),
        }
        .to_claimed(id.into())
    }
}
