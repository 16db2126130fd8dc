//! Event flags: a `u8` bit set.

use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::ser::{SerializeSeq, Serializer};
use serde::{Deserialize, Serialize};

bitflags::bitflags! {
    /// Flags of an event. In JSON they are a list of names, e.g.
    /// `["REQUIRES_ACK", "ACKNOWLEDGED"]`; a plain number is accepted too.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
    pub struct EventFlags: u8 {
        /// The event waits in the acknowledgment queue until acknowledged.
        const REQUIRES_ACK = 0b0000_0001;
        /// The event is part of a transaction.
        const TRANSACTIONAL = 0b0000_0010;
        /// The payload is compressed by the producer.
        const COMPRESSED = 0b0000_0100;
        /// The event is a replay of an earlier one.
        const REPLAY = 0b0000_1000;
        /// Set by the store when the event is acknowledged.
        const ACKNOWLEDGED = 0b0001_0000;
        /// Set by the store when a compensation of the event completed.
        const COMPENSATED = 0b0010_0000;
        /// The event is critical to its chain.
        const CRITICAL = 0b0100_0000;
        /// Reserved for future use; must be clear.
        const RESERVED = 0b1000_0000;
    }
}

impl EventFlags {
    /// Flags that only the store sets after the append. They are not part
    /// of the content compared on re-append nor of the hashed encoding.
    pub const STORE_MANAGED: EventFlags = EventFlags::ACKNOWLEDGED.union(EventFlags::COMPENSATED);

    /// Whether an event with these flags waits for acknowledgment (in the
    /// acknowledgment queue, and for the work queues): it requires one
    /// and has none yet. PostgreSQL's `(flags & 17) = 1` is the same test.
    #[must_use]
    pub const fn awaits_ack(self) -> bool {
        self.contains(EventFlags::REQUIRES_ACK) && !self.contains(EventFlags::ACKNOWLEDGED)
    }

    /// The names an append accepts, for error messages (not the reserved
    /// flag, nor those only the store sets).
    #[must_use]
    pub fn accepted_names() -> String {
        EventFlags::all()
            .difference(EventFlags::STORE_MANAGED | EventFlags::RESERVED)
            .iter_names()
            .map(|(name, _)| name)
            .collect::<Vec<_>>()
            .join(", ")
    }
}

impl Serialize for EventFlags {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(None)?;
        for (name, _) in self.iter_names() {
            seq.serialize_element(name)?;
        }
        seq.end()
    }
}

impl<'de> Deserialize<'de> for EventFlags {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(FlagsVisitor)
    }
}

struct FlagsVisitor;

impl<'de> Visitor<'de> for FlagsVisitor {
    type Value = EventFlags;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "a list of flag names ({}) or a number 0-255",
            EventFlags::accepted_names()
        )
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<EventFlags, E> {
        let bits = u8::try_from(value)
            .map_err(|_| E::custom(format!("flags {value} out of range: accepted 0-255")))?;
        Ok(EventFlags::from_bits_retain(bits))
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<EventFlags, E> {
        let unsigned = u64::try_from(value)
            .map_err(|_| E::custom(format!("flags {value} out of range: accepted 0-255")))?;
        self.visit_u64(unsigned)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<EventFlags, A::Error> {
        let mut flags = EventFlags::empty();
        while let Some(name) = seq.next_element::<String>()? {
            let flag = EventFlags::from_name(&name.to_ascii_uppercase()).ok_or_else(|| {
                de::Error::custom(format!(
                    "unknown flag {name:?}: accepted {}",
                    EventFlags::accepted_names()
                ))
            })?;
            flags |= flag;
        }
        Ok(flags)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_is_a_list_of_names() {
        let flags = EventFlags::REQUIRES_ACK | EventFlags::ACKNOWLEDGED;
        let json = serde_json::to_string(&flags).unwrap();
        assert_eq!(json, r#"["REQUIRES_ACK","ACKNOWLEDGED"]"#);
        let back: EventFlags = serde_json::from_str(&json).unwrap();
        assert_eq!(back, flags);
        let from_number: EventFlags = serde_json::from_str("17").unwrap();
        assert_eq!(from_number, flags);
    }

    #[test]
    fn unknown_name_says_what_is_accepted() {
        let err = serde_json::from_str::<EventFlags>(r#"["URGENT"]"#).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("URGENT") && text.contains("REQUIRES_ACK"),
            "{text}"
        );
        assert!(serde_json::from_str::<EventFlags>("256").is_err());
    }
}
