//! Event kinds: a 4-bit category and a 12-bit type packed into a `u16`.

use serde::{Deserialize, Serialize};

/// The category of an event kind: the upper 4 bits of [`EventKind`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
#[allow(missing_docs)] // the variant names are the documentation
pub enum EventCategory {
    System = 0x0,
    Trajectory = 0x1,
    Scope = 0x2,
    Artifact = 0x3,
    Note = 0x4,
    Turn = 0x5,
    Agent = 0x6,
    Lock = 0x7,
    Message = 0x8,
    Delegation = 0x9,
    Handoff = 0xA,
    Edge = 0xB,
    Evolution = 0xC,
    Effect = 0xD,
    Cache = 0xE,
    Custom = 0xF,
}

impl EventCategory {
    /// Every category, in numeric order.
    pub const ALL: [EventCategory; 16] = [
        Self::System,
        Self::Trajectory,
        Self::Scope,
        Self::Artifact,
        Self::Note,
        Self::Turn,
        Self::Agent,
        Self::Lock,
        Self::Message,
        Self::Delegation,
        Self::Handoff,
        Self::Edge,
        Self::Evolution,
        Self::Effect,
        Self::Cache,
        Self::Custom,
    ];

    /// The category stored in the upper 4 bits of `bits`.
    #[must_use]
    pub const fn from_bits(bits: u8) -> Self {
        Self::ALL[(bits & 0xF) as usize]
    }

    /// The category's name, as in the contract.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::System => "System",
            Self::Trajectory => "Trajectory",
            Self::Scope => "Scope",
            Self::Artifact => "Artifact",
            Self::Note => "Note",
            Self::Turn => "Turn",
            Self::Agent => "Agent",
            Self::Lock => "Lock",
            Self::Message => "Message",
            Self::Delegation => "Delegation",
            Self::Handoff => "Handoff",
            Self::Edge => "Edge",
            Self::Evolution => "Evolution",
            Self::Effect => "Effect",
            Self::Cache => "Cache",
            Self::Custom => "Custom",
        }
    }
}

/// The kind of an event: upper 4 bits category, lower 12 bits type.
///
/// Every `u16` is a valid kind. It serializes as a plain number.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct EventKind(pub u16);

/// The largest type number within a category (12 bits).
pub const MAX_KIND_TYPE: u16 = 0x0FFF;

impl EventKind {
    /// Plain data: category System, type 0.
    pub const DATA: EventKind = EventKind(0x0000);
    /// Type 0 of category System.
    pub const SYSTEM: EventKind = Self::first_of(EventCategory::System);
    /// Type 0 of category Trajectory.
    pub const TRAJECTORY: EventKind = Self::first_of(EventCategory::Trajectory);
    /// Type 0 of category Scope.
    pub const SCOPE: EventKind = Self::first_of(EventCategory::Scope);
    /// Type 0 of category Artifact.
    pub const ARTIFACT: EventKind = Self::first_of(EventCategory::Artifact);
    /// Type 0 of category Note.
    pub const NOTE: EventKind = Self::first_of(EventCategory::Note);
    /// Type 0 of category Turn.
    pub const TURN: EventKind = Self::first_of(EventCategory::Turn);
    /// Type 0 of category Agent.
    pub const AGENT: EventKind = Self::first_of(EventCategory::Agent);
    /// Type 0 of category Lock.
    pub const LOCK: EventKind = Self::first_of(EventCategory::Lock);
    /// Type 0 of category Message.
    pub const MESSAGE: EventKind = Self::first_of(EventCategory::Message);
    /// Type 0 of category Delegation.
    pub const DELEGATION: EventKind = Self::first_of(EventCategory::Delegation);
    /// Type 0 of category Handoff.
    pub const HANDOFF: EventKind = Self::first_of(EventCategory::Handoff);
    /// Type 0 of category Edge.
    pub const EDGE: EventKind = Self::first_of(EventCategory::Edge);
    /// Type 0 of category Evolution.
    pub const EVOLUTION: EventKind = Self::first_of(EventCategory::Evolution);
    /// Type 0 of category Effect.
    pub const EFFECT: EventKind = Self::first_of(EventCategory::Effect);
    /// Type 0 of category Cache.
    pub const CACHE: EventKind = Self::first_of(EventCategory::Cache);
    /// Type 0 of category Custom.
    pub const CUSTOM: EventKind = Self::first_of(EventCategory::Custom);

    const fn first_of(category: EventCategory) -> Self {
        EventKind((category as u16) << 12)
    }

    /// The kind of `type_id` within `category`.
    ///
    /// # Errors
    /// [`InvalidKindType`] when `type_id` does not fit in 12 bits
    /// (accepted: 0 to 4095).
    pub const fn custom(category: EventCategory, type_id: u16) -> Result<Self, InvalidKindType> {
        if type_id > MAX_KIND_TYPE {
            return Err(InvalidKindType { type_id });
        }
        Ok(EventKind(((category as u16) << 12) | type_id))
    }

    /// The category (upper 4 bits).
    #[must_use]
    pub const fn category(self) -> EventCategory {
        // The shift leaves at most 4 bits, so the cast cannot truncate.
        #[allow(clippy::cast_possible_truncation)]
        EventCategory::from_bits((self.0 >> 12) as u8)
    }

    /// The type within the category (lower 12 bits).
    #[must_use]
    pub const fn type_id(self) -> u16 {
        self.0 & MAX_KIND_TYPE
    }
}

impl std::fmt::Display for EventKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{:#05x}", self.category().name(), self.type_id())
    }
}

/// A type number that does not fit the 12 bits of a kind's type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("event kind type {type_id} is out of range: accepted 0 to 4095 (12 bits)")]
pub struct InvalidKindType {
    /// The rejected type number.
    pub type_id: u16,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packs_category_and_type() {
        let kind = EventKind::custom(EventCategory::Message, 0x123).unwrap();
        assert_eq!(kind.0, 0x8123);
        assert_eq!(kind.category(), EventCategory::Message);
        assert_eq!(kind.type_id(), 0x123);
        assert_eq!(EventKind::CUSTOM.0, 0xF000);
        assert_eq!(EventKind::DATA, EventKind::SYSTEM);
    }

    #[test]
    fn rejects_type_over_twelve_bits() {
        let err = EventKind::custom(EventCategory::Note, 0x1000).unwrap_err();
        assert!(err.to_string().contains("0 to 4095"), "{err}");
    }

    #[test]
    fn every_category_round_trips() {
        for (index, category) in EventCategory::ALL.iter().enumerate() {
            let kind = EventKind::custom(*category, 7).unwrap();
            assert_eq!(kind.category(), *category);
            assert_eq!(usize::from(kind.0 >> 12), index);
        }
    }
}
