//! `vrrp_sync_group` semantics, as a pure function over the members' states.
//!
//! keepalived keeps the instances of a sync group in the same state: when one goes FAULT
//! all go FAULT (and come back to BACKUP together once no member has a fault of its
//! own); when one drops from MASTER to BACKUP the other masters follow; when one becomes
//! MASTER the backups follow — unless a member is faulty, in which case the group stays
//! FAULT. The service calls [`follow`] after every transition of a member and feeds each
//! returned state to that member as [`crate::state::Input::SyncGroup`].

use crate::state::State;

/// One member of a sync group as [`follow`] sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Member {
    /// The member's current state (for the member that just changed: its new state).
    pub state: State,
    /// Whether the member has a fault of its own (interface/tracker down), as opposed to
    /// being held in FAULT by the group.
    pub own_fault: bool,
}

/// The transitions the group forces after member `changed` entered `members[changed].state`:
/// `(index, state)` pairs for the *other* members (and, when a member became MASTER while
/// another has its own fault, `(changed, Fault)` to put it back).
pub fn follow(members: &[Member], changed: usize) -> Vec<(usize, State)> {
    let Some(me) = members.get(changed) else {
        return Vec::new();
    };
    let others = || {
        members
            .iter()
            .enumerate()
            .filter(move |(i, _)| *i != changed)
    };
    let any_other_fault = others().any(|(_, m)| m.own_fault);
    match me.state {
        // One faulty member takes the whole group to FAULT.
        State::Fault => others()
            .filter(|(_, m)| m.state != State::Fault)
            .map(|(i, _)| (i, State::Fault))
            .collect(),
        State::Backup => {
            let mut out: Vec<(usize, State)> = others()
                .filter(|(_, m)| m.state == State::Master)
                .map(|(i, _)| (i, State::Backup))
                .collect();
            // The last fault cleared: members held in FAULT by the group recover too.
            if !me.own_fault && !any_other_fault {
                out.extend(
                    others()
                        .filter(|(_, m)| m.state == State::Fault)
                        .map(|(i, _)| (i, State::Backup)),
                );
            }
            out
        }
        State::Master if any_other_fault => vec![(changed, State::Fault)],
        State::Master => others()
            .filter(|(_, m)| m.state == State::Backup)
            .map(|(i, _)| (i, State::Master))
            .collect(),
        State::Initialize => Vec::new(),
    }
}

/// The group's own state (vrrp_sync.c): keepalived moves the group to MASTER, BACKUP or
/// FAULT after it has moved the other members (`vrrp_sync_master`, `vrrp_sync_backup`,
/// `vrrp_sync_fault` transition them first, then set the group and send its notifies), so
/// the group takes the members' common state once every member is in it, and keeps
/// `previous` while they differ or have not started.
pub fn group_state(previous: State, members: &[Member]) -> State {
    match members.first() {
        Some(first)
            if first.state != State::Initialize
                && members.iter().all(|m| m.state == first.state) =>
        {
            first.state
        }
        _ => previous,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(state: State) -> Member {
        Member {
            state,
            own_fault: false,
        }
    }

    fn faulty() -> Member {
        Member {
            state: State::Fault,
            own_fault: true,
        }
    }

    #[test]
    fn one_member_fault_takes_the_group_to_fault() {
        let g = [
            faulty(),
            m(State::Master),
            m(State::Backup),
            m(State::Fault),
        ];
        assert_eq!(follow(&g, 0), [(1, State::Fault), (2, State::Fault)]);
    }

    #[test]
    fn master_dropping_to_backup_takes_the_other_masters_with_it() {
        let g = [m(State::Backup), m(State::Master), m(State::Master)];
        assert_eq!(follow(&g, 0), [(1, State::Backup), (2, State::Backup)]);
    }

    #[test]
    fn becoming_master_pulls_the_backups_up() {
        let g = [m(State::Backup), m(State::Master), m(State::Backup)];
        assert_eq!(follow(&g, 1), [(0, State::Master), (2, State::Master)]);
    }

    #[test]
    fn no_member_may_be_master_while_another_is_faulty() {
        let g = [m(State::Master), faulty()];
        assert_eq!(follow(&g, 0), [(0, State::Fault)]);
    }

    #[test]
    fn group_leaves_fault_only_when_the_last_own_fault_clears() {
        // Member 0 recovered but member 2 is still faulty: member 1 stays held in FAULT.
        let g = [m(State::Backup), m(State::Fault), faulty()];
        assert_eq!(follow(&g, 0), []);
        // Once no member has its own fault, the held ones come back to BACKUP.
        let g = [m(State::Backup), m(State::Fault), m(State::Fault)];
        assert_eq!(follow(&g, 0), [(1, State::Backup), (2, State::Backup)]);
    }

    #[test]
    fn the_group_moves_once_every_member_has() {
        let g = [m(State::Master), m(State::Backup)];
        assert_eq!(group_state(State::Backup, &g), State::Backup);
        let g = [m(State::Master), m(State::Master)];
        assert_eq!(group_state(State::Backup, &g), State::Master);
        let g = [faulty(), m(State::Fault)];
        assert_eq!(group_state(State::Master, &g), State::Fault);
        let g = [m(State::Backup), m(State::Initialize)];
        assert_eq!(group_state(State::Initialize, &g), State::Initialize);
        assert_eq!(group_state(State::Fault, &[]), State::Fault);
    }

    #[test]
    fn out_of_range_member_forces_nothing() {
        assert_eq!(follow(&[m(State::Master)], 3), []);
    }
}
