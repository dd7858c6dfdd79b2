//! The library's public surface, listed in `public-api.txt` beside this crate's
//! `Cargo.toml`, is what the crate exports: a change to the API is a deliberate diff in
//! review, not something users find.
//!
//! The list is made from the sources with `syn`, on the stable toolchain: every item the
//! crate root exports (its own, `pub use` re-exports followed to where the item is
//! written, public modules), with its signature, its `cfg`, `derive`, `deprecated` and
//! `non_exhaustive` attributes, and the `impl` blocks written beside it (inherent methods
//! that are `pub`, and the header of each trait impl). Bodies, docs, private fields and
//! `#[doc(hidden)]` items are left out. One line per item or member, sorted.
//!
//! After a deliberate change: `GRACEFUL_BLESS=1 cargo test -p graceful-runtime --test
//! public_api`, then read the diff of `public-api.txt`.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

use quote::ToTokens;
use syn::{Attribute, ImplItem, Item, TraitItem, UseTree, Visibility};

/// A module of the crate: its items, and the folder its child modules' files are in.
struct Module {
    items: Vec<Item>,
}

/// Every module of the crate by its path (`["api", "stop"]`), `cfg(test)` ones left out.
fn modules() -> BTreeMap<Vec<String>, Module> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut all = BTreeMap::new();
    load(&src.join("lib.rs"), src.clone(), Vec::new(), &mut all);
    all
}

fn load(file: &Path, dir: PathBuf, path: Vec<String>, all: &mut BTreeMap<Vec<String>, Module>) {
    let text =
        fs::read_to_string(file).unwrap_or_else(|e| panic!("cannot read {}: {e}", file.display()));
    let parsed =
        syn::parse_file(&text).unwrap_or_else(|e| panic!("cannot parse {}: {e}", file.display()));
    add(parsed.items, &dir, path, all);
}

fn add(items: Vec<Item>, dir: &Path, path: Vec<String>, all: &mut BTreeMap<Vec<String>, Module>) {
    for item in &items {
        let Item::Mod(m) = item else { continue };
        if is_test(&m.attrs) {
            continue;
        }
        let mut child = path.clone();
        child.push(m.ident.to_string());
        let child_dir = dir.join(m.ident.to_string());
        match &m.content {
            Some((_, inner)) => add(inner.clone(), &child_dir, child, all),
            None => {
                let file = match path_attr(&m.attrs) {
                    Some(p) => dir.join(p),
                    None if dir.join(format!("{}.rs", m.ident)).exists() => {
                        dir.join(format!("{}.rs", m.ident))
                    }
                    None => child_dir.join("mod.rs"),
                };
                // A `#[path]` module (one per platform) adds to the same module.
                if all.contains_key(&child) {
                    let text = fs::read_to_string(&file).unwrap();
                    let more = syn::parse_file(&text).unwrap().items;
                    all.get_mut(&child).unwrap().items.extend(more);
                } else {
                    load(&file, child_dir, child, all);
                }
            }
        }
    }
    // Items written inside a macro call (`pin_project! { pub struct .. }`) are items
    // too; so are those a local `macro_rules!` writes from a name
    // (`latch_future! { HardStop }`): its body, with the name put in.
    let mut expanded = Vec::new();
    let mut calls: Vec<syn::Macro> = items
        .iter()
        .filter_map(|item| match item {
            Item::Macro(m) if m.ident.is_none() => Some(m.mac.clone()),
            _ => None,
        })
        .collect();
    while let Some(mac) = calls.pop() {
        let parsed = syn::parse2::<syn::File>(mac.tokens.clone())
            .ok()
            .or_else(|| expand_local(&items, &mac));
        for item in parsed.map(|f| f.items).unwrap_or_default() {
            match item {
                Item::Macro(m) if m.ident.is_none() => calls.push(m.mac),
                other => expanded.push(other),
            }
        }
    }
    all.entry(path)
        .or_insert(Module { items: Vec::new() })
        .items
        .extend(items.into_iter().chain(expanded));
}

/// A call of a `macro_rules!` of the same module that takes a name (`$name:ident`, after
/// doc attributes), expanded: its transcriber with the name in place of `$name`, and
/// the repetitions of doc attributes left out.
fn expand_local(items: &[Item], call: &syn::Macro) -> Option<syn::File> {
    let name = call.path.get_ident()?;
    let rules = items.iter().find_map(|item| match item {
        Item::Macro(m) if m.ident.as_ref() == Some(name) => Some(&m.mac.tokens),
        _ => None,
    })?;
    let Some(proc_macro2::TokenTree::Ident(given)) = call.tokens.clone().into_iter().last() else {
        return None;
    };
    // `(matcher) => { transcriber };`: the transcriber of the only rule.
    let transcriber = rules.clone().into_iter().find_map(|tt| match tt {
        proc_macro2::TokenTree::Group(g) if g.delimiter() == proc_macro2::Delimiter::Brace => {
            Some(g.stream())
        }
        _ => None,
    })?;
    syn::parse2(substitute(transcriber, &given)).ok()
}

/// `$name` becomes `given`; `$( .. )*` is dropped.
fn substitute(
    stream: proc_macro2::TokenStream,
    given: &proc_macro2::Ident,
) -> proc_macro2::TokenStream {
    use proc_macro2::TokenTree;
    let mut out = Vec::new();
    let mut tokens = stream.into_iter().peekable();
    while let Some(tt) = tokens.next() {
        match tt {
            TokenTree::Punct(p) if p.as_char() == '$' => match tokens.next() {
                Some(TokenTree::Ident(_)) => out.push(TokenTree::Ident(given.clone())),
                Some(TokenTree::Group(_)) => {
                    // The repetition's operator.
                    tokens.next();
                }
                other => out.extend(other),
            },
            TokenTree::Group(g) => {
                let mut inner =
                    proc_macro2::Group::new(g.delimiter(), substitute(g.stream(), given));
                inner.set_span(g.span());
                out.push(TokenTree::Group(inner));
            }
            other => out.push(other),
        }
    }
    out.into_iter().collect()
}

fn path_attr(attrs: &[Attribute]) -> Option<String> {
    attrs.iter().find_map(|a| {
        if !a.path().is_ident("path") {
            return None;
        }
        let syn::Meta::NameValue(nv) = &a.meta else {
            return None;
        };
        let syn::Expr::Lit(lit) = &nv.value else {
            return None;
        };
        let syn::Lit::Str(s) = &lit.lit else {
            return None;
        };
        Some(s.value())
    })
}

fn attr_text(a: &Attribute) -> String {
    normalize(&a.meta.to_token_stream().to_string())
}

fn is_test(attrs: &[Attribute]) -> bool {
    attrs.iter().any(|a| attr_text(a) == "cfg(test)")
}

fn is_hidden(attrs: &[Attribute]) -> bool {
    attrs.iter().any(|a| attr_text(a) == "doc(hidden)")
}

fn is_pub(vis: &Visibility) -> bool {
    matches!(vis, Visibility::Public(_))
}

/// The attributes that are part of the API, as written.
fn kept_attrs(attrs: &[Attribute]) -> String {
    let mut out = String::new();
    for a in attrs {
        let name = a.path().to_token_stream().to_string();
        if ["cfg", "derive", "deprecated", "non_exhaustive", "repr"].contains(&name.as_str()) {
            out.push_str(&format!("#[{}] ", attr_text(a)));
        }
    }
    out
}

/// Token text as one writes Rust: `Option<&str>`, not `Option < & str >`.
fn normalize(tokens: &str) -> String {
    let mut s = tokens.split_whitespace().collect::<Vec<_>>().join(" ");
    for (from, to) in [
        (" :: ", "::"),
        (":: ", "::"),
        (" ::", "::"),
        (" < ", "<"),
        ("< ", "<"),
        (" <", "<"),
        (" >", ">"),
        (" ,", ","),
        (" ;", ";"),
        ("( ", "("),
        (" (", "("),
        (" )", ")"),
        ("[ ", "["),
        (" ]", "]"),
        ("& ", "&"),
        (" :", ":"),
        ("# [", "#["),
        (" !", "!"),
        (" ?", "?"),
        ("' ", "'"),
    ] {
        while s.contains(from) {
            s = s.replace(from, to);
        }
    }
    // Undo what the rules above did to arrows and bounds.
    s.replace("->", " -> ")
        .replace("  ", " ")
        .replace("=>", " => ")
        .replace("  ", " ")
        .replace(">=", "> =")
        .replace(":'", ": '")
        .replace(":Sized", ": Sized")
        // A `mut` binding is the function's own business, not its signature's.
        .replace("(mut self", "(self")
}

fn tokens(t: &impl ToTokens) -> String {
    normalize(&t.to_token_stream().to_string())
}

/// The lines of one exported item, under the name `name` it is exported as.
fn describe(name: &str, item: &Item, module: &Module, out: &mut BTreeSet<String>) {
    let line = |out: &mut BTreeSet<String>, text: String| {
        out.insert(format!("{name}: {text}"));
    };
    match item {
        Item::Fn(f) => line(
            out,
            format!("{}pub {}", kept_attrs(&f.attrs), tokens(&f.sig)),
        ),
        Item::Const(c) => line(
            out,
            format!(
                "{}pub const {}: {}",
                kept_attrs(&c.attrs),
                c.ident,
                tokens(&c.ty)
            ),
        ),
        Item::Static(s) => line(
            out,
            format!(
                "{}pub static {}: {}",
                kept_attrs(&s.attrs),
                s.ident,
                tokens(&s.ty)
            ),
        ),
        Item::Type(t) => line(
            out,
            format!(
                "{}pub type {}{} = {}",
                kept_attrs(&t.attrs),
                t.ident,
                tokens(&t.generics),
                tokens(&t.ty)
            ),
        ),
        Item::Struct(s) => {
            let fields: Vec<String> = s
                .fields
                .iter()
                .filter(|f| is_pub(&f.vis))
                .map(|f| match &f.ident {
                    Some(i) => format!("pub {i}: {}", tokens(&f.ty)),
                    None => format!("pub {}", tokens(&f.ty)),
                })
                .collect();
            let private = s.fields.iter().any(|f| !is_pub(&f.vis));
            let body = match (&s.fields, private) {
                (syn::Fields::Unit, _) => ";".to_owned(),
                (_, true) => format!(" {{ {}/* private fields */ }}", with_commas(&fields)),
                (_, false) => format!(" {{ {}}}", with_commas(&fields)),
            };
            line(
                out,
                format!(
                    "{}pub struct {}{}{}{body}",
                    kept_attrs(&s.attrs),
                    s.ident,
                    tokens(&s.generics),
                    where_clause(&s.generics)
                ),
            );
            impls(name, &s.ident.to_string(), module, out);
        }
        Item::Enum(e) => {
            line(
                out,
                format!(
                    "{}pub enum {}{}{}",
                    kept_attrs(&e.attrs),
                    e.ident,
                    tokens(&e.generics),
                    where_clause(&e.generics)
                ),
            );
            for v in &e.variants {
                line(
                    out,
                    format!("{}{}", kept_attrs(&v.attrs), tokens(&stripped_variant(v))),
                );
            }
            impls(name, &e.ident.to_string(), module, out);
        }
        Item::Trait(t) => {
            let supertraits = if t.supertraits.is_empty() {
                String::new()
            } else {
                format!(": {}", tokens(&t.supertraits))
            };
            line(
                out,
                format!(
                    "{}pub {}trait {}{}{supertraits}{}",
                    kept_attrs(&t.attrs),
                    if t.unsafety.is_some() { "unsafe " } else { "" },
                    t.ident,
                    tokens(&t.generics),
                    where_clause(&t.generics)
                ),
            );
            for ti in &t.items {
                match ti {
                    TraitItem::Fn(f) if !is_hidden(&f.attrs) => line(
                        out,
                        format!(
                            "{}{}{}",
                            kept_attrs(&f.attrs),
                            tokens(&f.sig),
                            if f.default.is_some() { " { .. }" } else { "" }
                        ),
                    ),
                    TraitItem::Type(ty) if !is_hidden(&ty.attrs) => {
                        line(out, tokens(&strip_trait_type(ty)))
                    }
                    TraitItem::Const(c) if !is_hidden(&c.attrs) => {
                        line(out, format!("const {}: {}", c.ident, tokens(&c.ty)))
                    }
                    _ => {}
                }
            }
            impls(name, &t.ident.to_string(), module, out);
        }
        Item::Macro(m) => line(
            out,
            format!(
                "macro_rules! {}",
                m.ident.as_ref().map(|i| i.to_string()).unwrap_or_default()
            ),
        ),
        other => panic!(
            "{name}: an exported item of a kind this test does not list: {}",
            tokens(other)
        ),
    }
}

fn with_commas(fields: &[String]) -> String {
    fields.iter().map(|f| format!("{f}, ")).collect()
}

fn where_clause(g: &syn::Generics) -> String {
    match &g.where_clause {
        Some(w) => format!(" {}", tokens(w)),
        None => String::new(),
    }
}

fn stripped_variant(v: &syn::Variant) -> syn::Variant {
    let mut v = v.clone();
    v.attrs.clear();
    for f in v.fields.iter_mut() {
        f.attrs.clear();
    }
    v
}

fn strip_trait_type(t: &syn::TraitItemType) -> syn::TraitItemType {
    let mut t = t.clone();
    t.attrs.clear();
    t
}

/// The `impl` blocks of the module that are for the type named `ty`.
fn impls(name: &str, ty: &str, module: &Module, out: &mut BTreeSet<String>) {
    for item in &module.items {
        let Item::Impl(i) = item else { continue };
        if is_test(&i.attrs) || is_hidden(&i.attrs) {
            continue;
        }
        let self_ty = match &*i.self_ty {
            syn::Type::Path(p) => p.path.segments.last().unwrap().ident.to_string(),
            _ => continue,
        };
        if self_ty != ty {
            continue;
        }
        let header = format!(
            "{}impl{} {}{}{}",
            kept_attrs(&i.attrs),
            tokens(&i.generics),
            match &i.trait_ {
                Some((path, _)) => format!("{} for ", tokens(path)),
                None => String::new(),
            },
            tokens(&i.self_ty),
            where_clause(&i.generics)
        );
        if i.trait_.is_some() {
            out.insert(format!("{name}: {header}"));
            continue;
        }
        for ii in &i.items {
            match ii {
                ImplItem::Fn(f) if is_pub(&f.vis) && !is_hidden(&f.attrs) => {
                    out.insert(format!(
                        "{name}: {header} {{ {}pub {} }}",
                        kept_attrs(&f.attrs),
                        tokens(&f.sig)
                    ));
                }
                ImplItem::Const(c) if is_pub(&c.vis) && !is_hidden(&c.attrs) => {
                    out.insert(format!(
                        "{name}: {header} {{ {}pub const {}: {} }}",
                        kept_attrs(&c.attrs),
                        c.ident,
                        tokens(&c.ty)
                    ));
                }
                _ => {}
            }
        }
    }
}

/// The name an item is found under in a module, if it is one that the API lists.
fn item_name(item: &Item) -> Option<(String, &[Attribute], bool)> {
    let (ident, attrs, vis) = match item {
        Item::Fn(i) => (&i.sig.ident, &i.attrs, Some(&i.vis)),
        Item::Const(i) => (&i.ident, &i.attrs, Some(&i.vis)),
        Item::Static(i) => (&i.ident, &i.attrs, Some(&i.vis)),
        Item::Type(i) => (&i.ident, &i.attrs, Some(&i.vis)),
        Item::Struct(i) => (&i.ident, &i.attrs, Some(&i.vis)),
        Item::Enum(i) => (&i.ident, &i.attrs, Some(&i.vis)),
        Item::Trait(i) => (&i.ident, &i.attrs, Some(&i.vis)),
        Item::Mod(i) => (&i.ident, &i.attrs, Some(&i.vis)),
        Item::Macro(i) => (i.ident.as_ref()?, &i.attrs, None),
        _ => return None,
    };
    let public = match vis {
        Some(vis) => is_pub(vis),
        None => true,
    };
    Some((ident.to_string(), attrs, public))
}

/// Walks what module `path` exports, writing each item under `prefix`.
fn export(
    all: &BTreeMap<Vec<String>, Module>,
    path: &[String],
    prefix: &str,
    out: &mut BTreeSet<String>,
) {
    let module = &all[path];
    for item in &module.items {
        match item {
            Item::Use(u) if is_pub(&u.vis) && !is_hidden(&u.attrs) => {
                let mut leaves = Vec::new();
                use_leaves(&u.tree, Vec::new(), &mut leaves);
                for (target, exported_as) in leaves {
                    let name = format!("{prefix}::{exported_as}");
                    let cfg = kept_attrs(&u.attrs);
                    resolve(all, path, &target, &name, &cfg, out);
                }
            }
            Item::Mod(m) if is_pub(&m.vis) && !is_hidden(&m.attrs) && !is_test(&m.attrs) => {
                let mut child = path.to_vec();
                child.push(m.ident.to_string());
                let name = format!("{prefix}::{}", m.ident);
                out.insert(format!(
                    "{name}: {}pub mod {}",
                    kept_attrs(&m.attrs),
                    m.ident
                ));
                export(all, &child, &name, out);
            }
            _ => {
                if let Some((ident, attrs, public)) = item_name(item) {
                    if public && !is_hidden(attrs) && !matches!(item, Item::Mod(_) | Item::Macro(_))
                    {
                        describe(&format!("{prefix}::{ident}"), item, module, out);
                    }
                }
            }
        }
    }
}

/// The paths a `use` tree names, each with the name it is brought in as.
fn use_leaves(tree: &UseTree, mut base: Vec<String>, out: &mut Vec<(Vec<String>, String)>) {
    match tree {
        UseTree::Path(p) => {
            base.push(p.ident.to_string());
            use_leaves(&p.tree, base, out);
        }
        UseTree::Name(n) => {
            base.push(n.ident.to_string());
            out.push((base, n.ident.to_string()));
        }
        UseTree::Rename(r) => {
            base.push(r.ident.to_string());
            out.push((base, r.rename.to_string()));
        }
        UseTree::Group(g) => {
            for t in &g.items {
                use_leaves(t, base.clone(), out);
            }
        }
        UseTree::Glob(_) => panic!("a glob re-export: list its items by name"),
    }
}

/// Finds what `target` (a `use` path written in module `from`) names, and lists it as
/// `name`.
fn resolve(
    all: &BTreeMap<Vec<String>, Module>,
    from: &[String],
    target: &[String],
    name: &str,
    cfg: &str,
    out: &mut BTreeSet<String>,
) {
    let mut module: Vec<String> = match target[0].as_str() {
        "crate" => Vec::new(),
        "self" => from.to_vec(),
        "super" => from[..from.len() - 1].to_vec(),
        first if all.contains_key(&[from, &[first.to_owned()]].concat()) => from.to_vec(),
        first if from.is_empty() || !all.contains_key(&vec![first.to_owned()]) => {
            // Another crate's item (the attributes, from graceful-macros).
            out.insert(format!("{name}: {cfg}pub use {}", target.join("::")));
            return;
        }
        _ => Vec::new(),
    };
    let skip = usize::from(matches!(target[0].as_str(), "crate" | "self" | "super"));
    let (last, dirs) = target[skip..].split_last().unwrap();
    module.extend(dirs.iter().cloned());
    let Some(m) = all.get(&module) else {
        panic!(
            "{name}: cannot find module {module:?} for `{}`",
            target.join("::")
        );
    };
    // A module brought in by name.
    let mut as_module = module.clone();
    as_module.push(last.clone());
    // A `pub use` of a name that is a private module and a public item exports the item.
    let is_module = m
        .items
        .iter()
        .any(|i| matches!(i, Item::Mod(md) if md.ident == last.as_str() && is_pub(&md.vis)));
    if is_module && all.contains_key(&as_module) {
        out.insert(format!("{name}: {cfg}pub mod {last}"));
        export(all, &as_module, name, out);
        return;
    }
    for item in &m.items {
        if let Some((ident, _, _)) = item_name(item) {
            if ident == *last && !matches!(item, Item::Mod(_)) {
                // The `cfg` of the re-export goes with the item.
                let mut lines = BTreeSet::new();
                describe(name, item, m, &mut lines);
                for l in lines {
                    let (n, rest) = l.split_once(": ").unwrap();
                    out.insert(format!("{n}: {cfg}{rest}"));
                }
                return;
            }
        }
        // A re-export of a re-export.
        if let Item::Use(u) = item {
            let mut leaves = Vec::new();
            use_leaves(&u.tree, Vec::new(), &mut leaves);
            if let Some((t, _)) = leaves.iter().find(|(_, as_name)| as_name == last) {
                return resolve(all, &module, t, name, cfg, out);
            }
        }
    }
    panic!(
        "{name}: `{}` not found in module {module:?}",
        target.join("::")
    );
}

fn surface() -> String {
    let all = modules();
    let mut out = BTreeSet::new();
    export(&all, &[], "graceful", &mut out);
    out.into_iter().map(|l| l + "\n").collect()
}

#[test]
fn the_public_surface_is_the_committed_one() {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("public-api.txt");
    let now = surface();
    if std::env::var_os("GRACEFUL_BLESS").is_some() {
        fs::write(&file, &now).unwrap();
        return;
    }
    let committed = fs::read_to_string(&file).unwrap_or_default();
    if committed != now {
        let before: BTreeSet<&str> = committed.lines().collect();
        let after: BTreeSet<&str> = now.lines().collect();
        let mut diff = String::new();
        for gone in before.difference(&after) {
            diff.push_str(&format!("- {gone}\n"));
        }
        for new in after.difference(&before) {
            diff.push_str(&format!("+ {new}\n"));
        }
        panic!(
            "the public API differs from graceful-runtime/public-api.txt:\n{diff}\n\
             if the change is meant, run `GRACEFUL_BLESS=1 cargo test -p graceful-runtime \
             --test public_api` and commit the file"
        );
    }
}

#[test]
fn the_surface_lists_what_users_call() {
    let s = surface();
    for expected in [
        "graceful::until_hard_stop: pub fn until_hard_stop<F: Future>(fut: F) -> Until<F>",
        "graceful::Signal: impl Signal { pub const ALL: &'static [Signal] }",
        "graceful::Main: impl Main { pub fn deadline(self, deadline: Duration) -> Self }",
        "graceful::main: pub use graceful_macros::main",
        "graceful::testing::Harness: pub struct Harness { /* private fields */ }",
        // Written by a local macro, from a name.
        "graceful::HardStop: impl Future for HardStop",
    ] {
        assert!(
            s.lines().any(|l| l == expected),
            "{expected:?} missing from:\n{s}"
        );
    }
    // Generated code's items are no part of it.
    assert!(!s.contains("__private"), "{s}");
}
