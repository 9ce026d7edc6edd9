//! Events in the middle of a cluster replay: the update schedule's syntax
//! (`at packet N: ...`, `#` comments, image paths relative to the file,
//! lines in packet order; packet N, 0-based, is the first to see the
//! event), extended with nodes:
//!
//! ```text
//! at packet 1000: node 2 down            # ECMP stops sending to it; its conntrack is lost
//! at packet 3000: node 2 up              # restarts: empty conntrack, the bank last assigned to it
//! at packet 4000: flash gen2.img         # every node at once
//! at packet 5000: flash gen3.img on node 1
//! at packet 6000: rollout gen4.img every 500 packets   # node 0 at 6000, node 1 at 6500, ...
//! ```
//!
//! Backend add, drain and remove are table updates: images compiled with
//! the change (`lbnic compile new.toml -o gen2.img --previous gen1.img`).

use crate::schedule::{load_image, split_line, ScheduleError, MAX_SCHEDULE_LEN};
use lbnic_contract::image::{Bank, Image};
use lbnic_contract::target::entries::BackendState;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// What happens at an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Down(u16),
    Up(u16),
    /// Flash image `image` (an index into [`Events::images`]) on one node
    /// or, with `None`, on every node at once.
    Flash {
        image: usize,
        node: Option<u16>,
    },
    /// Flash `image` on node 0, then node 1 `every` packets later, ...
    Rollout {
        image: usize,
        every: u64,
    },
}

#[derive(Debug, Clone)]
pub struct Event {
    pub at_packet: u64,
    pub action: Action,
    /// Line of the events file (1-based).
    pub line: usize,
}

/// A parsed events file with its images loaded.
#[derive(Debug, Clone, Default)]
pub struct Events {
    /// Every image the file names, in order of first mention.
    pub images: Vec<(PathBuf, Image)>,
    /// In file order (packet order).
    pub events: Vec<Event>,
}

const FORMS: &str = "node K down|up, flash IMAGE [on node K], rollout IMAGE every G packets";

fn node_num(s: &str, nodes: u16) -> Result<u16, String> {
    let k: u16 = s
        .trim()
        .parse()
        .map_err(|_| format!("bad node number {}", files::quote(s.trim())))?;
    if k >= nodes {
        return Err(format!(
            "node {k} does not exist: the cluster has {nodes} nodes (0..={})",
            nodes.saturating_sub(1)
        ));
    }
    Ok(k)
}

/// `s` without its leading word `w` (followed by white space), trimmed.
fn word<'a>(s: &'a str, w: &str) -> Option<&'a str> {
    s.strip_prefix(w)
        .filter(|r| r.starts_with(char::is_whitespace))
        .map(str::trim)
        .filter(|r| !r.is_empty())
}

/// One action: (action with the image as a path, image path).
fn parse_action(a: &str, nodes: u16) -> Result<(Action, Option<&str>), String> {
    if let Some(r) = word(a, "node") {
        let (k, what) = r
            .split_once(char::is_whitespace)
            .ok_or_else(|| format!("expected `node K down` or `node K up`, got {}", files::quote(a)))?;
        let k = node_num(k, nodes)?;
        return match what.trim() {
            "down" => Ok((Action::Down(k), None)),
            "up" => Ok((Action::Up(k), None)),
            w => Err(format!(
                "expected `down` or `up` after the node, got {}",
                files::quote(w)
            )),
        };
    }
    if let Some(r) = word(a, "flash") {
        if let Some((img, k)) = r.rsplit_once(" on node ") {
            let img = img.trim();
            if img.is_empty() {
                return Err("missing image before `on node`".into());
            }
            return Ok((
                Action::Flash {
                    image: 0,
                    node: Some(node_num(k, nodes)?),
                },
                Some(img),
            ));
        }
        return Ok((Action::Flash { image: 0, node: None }, Some(r)));
    }
    if let Some(r) = word(a, "rollout") {
        let (img, g) = r
            .rsplit_once(" every ")
            .ok_or_else(|| "expected `rollout IMAGE every G packets`".to_string())?;
        let g = g.trim();
        let g = g
            .strip_suffix("packets")
            .or_else(|| g.strip_suffix("packet"))
            .unwrap_or(g)
            .trim();
        let every: u64 = g
            .replace('_', "")
            .parse()
            .map_err(|_| format!("bad packet gap {}", files::quote(g)))?;
        let img = img.trim();
        if img.is_empty() {
            return Err("missing image after `rollout`".into());
        }
        return Ok((Action::Rollout { image: 0, every }, Some(img)));
    }
    Err(format!("expected {FORMS}, got {}", files::quote(a)))
}

/// Parse `text` (from `path`) for a cluster of `nodes` nodes and load the
/// images. Errors name the file and line.
pub fn parse(text: &str, path: &Path, nodes: u16) -> Result<Events, ScheduleError> {
    let p = path.display().to_string();
    let base = path.parent().unwrap_or(Path::new("."));
    let mut ev = Events::default();
    let mut by_path: HashMap<PathBuf, usize> = HashMap::new();
    for (i, line) in text.lines().enumerate() {
        let syntax = |message: String| ScheduleError::Syntax {
            path: p.clone(),
            line: i + 1,
            message,
        };
        let Some((n, a)) = split_line(line, FORMS).map_err(syntax)? else {
            continue;
        };
        let (mut action, img) = parse_action(a, nodes).map_err(syntax)?;
        if let Some(prev) = ev.events.last() {
            if n < prev.at_packet {
                return Err(syntax(format!(
                    "packet {n} comes before packet {} of line {}: keep the events in order",
                    prev.at_packet, prev.line
                )));
            }
        }
        if let Some(img) = img {
            let joined = base.join(img);
            let idx = match by_path.get(&joined) {
                Some(&k) => k,
                None => {
                    let loaded = load_image(&p, i + 1, base, img)?;
                    ev.images.push(loaded);
                    by_path.insert(joined, ev.images.len() - 1);
                    ev.images.len() - 1
                }
            };
            match &mut action {
                Action::Flash { image, .. } | Action::Rollout { image, .. } => *image = idx,
                _ => {}
            }
        }
        ev.events.push(Event {
            at_packet: n,
            action,
            line: i + 1,
        });
    }
    Ok(ev)
}

pub fn load(path: &Path, nodes: u16) -> Result<Events, ScheduleError> {
    let text =
        files::read_to_string_capped(path, MAX_SCHEDULE_LEN, "events file").map_err(ScheduleError::Read)?;
    parse(&text, path, nodes)
}

/// What `new` changes against `old`, per VIP and backend by name: VIPs
/// added and removed, backends added, removed, drained, down, back up,
/// and how many lookup-table entries now name another backend.
pub fn changes(old: &Image, new: &Image) -> Result<Vec<String>, lbnic_contract::image::ImageError> {
    let (a, b) = (Bank::decode(old)?, Bank::decode(new)?);
    let vips =
        |bk: &Bank| -> Vec<lbnic_contract::image::BankVip> { bk.vips.iter().flatten().cloned().collect() };
    let (va, vb) = (vips(&a), vips(&b));
    let mut out = Vec::new();
    for v in &va {
        if !vb.iter().any(|w| w.name == v.name) {
            out.push(format!("VIP {} removed", v.name));
        }
    }
    for w in &vb {
        let Some(v) = va.iter().find(|v| v.name == w.name) else {
            out.push(format!("VIP {} added", w.name));
            continue;
        };
        let state = |x: &lbnic_contract::image::BankVip, name: &str| {
            x.backends
                .iter()
                .flatten()
                .find(|b| b.name == name)
                .map(|b| b.repr.state)
        };
        for be in v.backends.iter().flatten() {
            if state(w, &be.name).is_none() {
                out.push(format!("{}: backend {} removed", w.name, be.name));
            }
        }
        for be in w.backends.iter().flatten() {
            let now = be.repr.state;
            match state(v, &be.name) {
                None => out.push(format!("{}: backend {} added", w.name, be.name)),
                Some(was) if was != now => out.push(format!(
                    "{}: backend {} {}",
                    w.name,
                    be.name,
                    match now {
                        BackendState::Active => "active again",
                        BackendState::Drain => "drained",
                        BackendState::Down => "down",
                    }
                )),
                Some(_) => {}
            }
        }
        fn name_at(x: &lbnic_contract::image::BankVip, i: usize) -> Option<&str> {
            x.table
                .get(i)
                .and_then(|&l| x.backend(l))
                .map(|b| b.name.as_str())
        }
        let n = v.table.len().max(w.table.len());
        let moved = (0..n).filter(|&i| name_at(v, i) != name_at(w, i)).count();
        if moved > 0 {
            out.push(format!(
                "{}: {moved} of {} table entries name another backend",
                w.name,
                w.table.len()
            ));
        }
    }
    if out.is_empty() {
        out.push("no VIP, backend or table change".into());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions() {
        let f = |s| parse_action(s, 4);
        assert_eq!(f("node 2 down").unwrap(), (Action::Down(2), None));
        assert_eq!(f("node 0  up").unwrap(), (Action::Up(0), None));
        assert_eq!(
            f("flash a b.img on node 3").unwrap(),
            (
                Action::Flash {
                    image: 0,
                    node: Some(3)
                },
                Some("a b.img")
            )
        );
        assert_eq!(
            f("flash g.img").unwrap(),
            (Action::Flash { image: 0, node: None }, Some("g.img"))
        );
        assert_eq!(
            f("rollout g.img every 1_000 packets").unwrap(),
            (
                Action::Rollout {
                    image: 0,
                    every: 1000
                },
                Some("g.img")
            )
        );
        for bad in [
            "node 4 down",
            "node x down",
            "node 1 sideways",
            "node 1",
            "flash",
            "flash g.img on node 9",
            "rollout g.img",
            "rollout g.img every x packets",
            "reboot",
        ] {
            assert!(f(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn errors_name_the_line() {
        let e = parse(
            "# c\nat packet 5: node 1 down\nat packet 3: node 1 up\n",
            Path::new("e.txt"),
            2,
        )
        .unwrap_err();
        assert!(e.to_string().starts_with("e.txt:3: packet 3 comes before"), "{e}");
        let e = parse("at packet 5: node 7 down\n", Path::new("e.txt"), 2).unwrap_err();
        assert!(e.to_string().starts_with("e.txt:1: node 7 does not exist"), "{e}");
        let e = parse(
            "\nat packet 5: flash nope.img\n",
            Path::new("/nonexistent/e.txt"),
            2,
        )
        .unwrap_err();
        assert!(e.to_string().starts_with("/nonexistent/e.txt:2: image"), "{e}");
        let ok = parse(
            "at packet 5: node 1 down # x\n\nat packet 9: node 1 up\n",
            Path::new("e.txt"),
            2,
        )
        .unwrap();
        assert_eq!(ok.events.len(), 2);
        assert_eq!(ok.events[1].line, 3);
    }
}
