//! The dependency graph of one input (petgraph): why a package is there (every path from
//! a root) and its blast radius (everything that depends on it, directly or not).
//! Cycles are allowed: paths are simple, and the number of paths reported is bounded.

use crate::inventory::Inventory;
use petgraph::Direction;
use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::visit::Bfs;
use serde::Serialize;

/// The graph of an inventory: node weights are component indices.
pub struct DepGraph<'a> {
    inv: &'a Inventory,
    g: DiGraph<usize, ()>,
}

/// Answer of [`DepGraph::why`] for one matching component.
#[derive(Debug, Clone, Serialize)]
pub struct Why {
    /// The component (`name@version`).
    pub component: String,
    /// Its purl.
    pub purl: String,
    /// Whether some root depends on it directly.
    pub direct: bool,
    /// Paths root-first, as `name@version` (at most the requested number).
    pub paths: Vec<Vec<String>>,
    /// True when more paths exist than were listed.
    pub truncated: bool,
    /// Components that depend on it, directly or transitively.
    pub blast_radius: usize,
    /// Roots (top-level packages) that pull it in.
    pub affected_roots: Vec<String>,
}

fn label(inv: &Inventory, i: usize) -> String {
    let c = &inv.components[i];
    if c.version.is_empty() {
        c.name.clone()
    } else {
        format!("{}@{}", c.name, c.version)
    }
}

/// Whether a component matches a selector: a purl (with or without `@version`), or a
/// package name (optionally `name@version`).
pub fn matches(inv: &Inventory, i: usize, selector: &str) -> bool {
    let c = &inv.components[i];
    if selector.starts_with("pkg:") {
        return c.purl == selector || c.purl.split('@').next() == Some(selector);
    }
    match selector.rsplit_once('@').filter(|(n, _)| !n.is_empty()) {
        Some((name, version)) => c.name == name && c.version == version,
        None => c.name == selector,
    }
}

impl<'a> DepGraph<'a> {
    /// Builds the graph (edges pointing from dependent to dependency).
    pub fn new(inv: &'a Inventory) -> Self {
        let mut g = DiGraph::with_capacity(inv.components.len(), inv.edges.len());
        for i in 0..inv.components.len() {
            g.add_node(i);
        }
        for &(a, b) in &inv.edges {
            if a < inv.components.len() && b < inv.components.len() && a != b {
                g.add_edge(NodeIndex::new(a), NodeIndex::new(b), ());
            }
        }
        DepGraph { inv, g }
    }

    /// Components nothing depends on.
    pub fn roots(&self) -> Vec<usize> {
        self.g
            .node_indices()
            .filter(|n| {
                self.g
                    .neighbors_directed(*n, Direction::Incoming)
                    .next()
                    .is_none()
            })
            .map(|n| n.index())
            .collect()
    }

    /// Why each component matching `selector` is in the input.
    pub fn why(&self, selector: &str, max_paths: usize) -> Vec<Why> {
        let roots = self.roots();
        (0..self.inv.components.len())
            .filter(|&i| matches(self.inv, i, selector))
            .map(|i| self.why_one(i, &roots, max_paths))
            .collect()
    }

    fn why_one(&self, target: usize, roots: &[usize], max_paths: usize) -> Why {
        let t = NodeIndex::new(target);
        let mut paths = Vec::new();
        let mut truncated = false;
        let mut affected_roots = Vec::new();
        let mut direct = false;
        'roots: for &r in roots {
            if r == target {
                paths.push(vec![label(self.inv, target)]);
                continue;
            }
            let found = petgraph::algo::all_simple_paths::<
                Vec<NodeIndex>,
                _,
                std::collections::hash_map::RandomState,
            >(&self.g, NodeIndex::new(r), t, 0, None);
            let mut any = false;
            for p in found {
                any = true;
                if p.len() == 2 {
                    direct = true;
                }
                if paths.len() >= max_paths {
                    truncated = true;
                    affected_roots.push(label(self.inv, r));
                    continue 'roots;
                }
                paths.push(p.iter().map(|n| label(self.inv, n.index())).collect());
            }
            if any {
                affected_roots.push(label(self.inv, r));
            }
        }
        paths.sort_by_key(Vec::len);
        let mut dependents = 0;
        let rev = petgraph::visit::Reversed(&self.g);
        let mut bfs = Bfs::new(rev, t);
        while let Some(n) = bfs.next(rev) {
            if n != t {
                dependents += 1;
            }
        }
        let c = &self.inv.components[target];
        Why {
            component: label(self.inv, target),
            purl: c.purl.clone(),
            direct: direct || c.direct == Some(true),
            paths,
            truncated,
            blast_radius: dependents,
            affected_roots,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inventory::{Component, Inventory};
    use crate::version::Ecosystem;

    fn inv(edges: &[(usize, usize)]) -> Inventory {
        let mut inv = Inventory::new("test", "test");
        for (i, name) in ["app", "web", "log", "tls", "zlib"].iter().enumerate() {
            inv.push(Component::new(
                Ecosystem::CratesIo,
                name,
                &format!("1.{i}.0"),
                name.to_string(),
            ));
        }
        inv.edges = edges.to_vec();
        inv
    }

    #[test]
    fn every_path_from_the_root_and_the_blast_radius() {
        // app -> web -> tls -> zlib ; app -> log -> zlib ; app -> tls
        let i = inv(&[(0, 1), (1, 3), (3, 4), (0, 2), (2, 4), (0, 3)]);
        let g = DepGraph::new(&i);
        assert_eq!(g.roots(), vec![0]);
        let w = g.why("zlib", 10);
        assert_eq!(w.len(), 1);
        assert_eq!(w[0].paths.len(), 3);
        assert_eq!(w[0].paths[0].len(), 3, "shortest first");
        assert_eq!(w[0].blast_radius, 4, "app, web, log and tls depend on zlib");
        assert!(!w[0].direct);
        let tls = g.why("pkg:cargo/tls", 10);
        assert!(tls[0].direct, "app depends on tls directly");
        assert_eq!(g.why("zlib", 1)[0].paths.len(), 1);
        assert!(g.why("zlib", 1)[0].truncated);
        assert!(g.why("nope", 10).is_empty());
        assert_eq!(g.why("zlib@1.4.0", 10).len(), 1);
        assert!(g.why("zlib@9.9.9", 10).is_empty());
    }

    #[test]
    fn cycles_terminate() {
        // app -> web -> log -> web (cycle), log -> zlib
        let i = inv(&[(0, 1), (1, 2), (2, 1), (2, 4)]);
        let w = DepGraph::new(&i).why("zlib", 100);
        assert_eq!(
            w[0].paths,
            vec![vec!["app@1.0.0", "web@1.1.0", "log@1.2.0", "zlib@1.4.0"]]
        );
        assert_eq!(w[0].blast_radius, 3);
    }
}
