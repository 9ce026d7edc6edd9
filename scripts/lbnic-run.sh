# Sourced by the scripts that run lbnic or a workspace example (rtl-sim.sh,
# rtl-test.sh, synth.sh). With LBNIC_BIN set, they run that binary and the
# examples built beside it (scripts/test.sh: what its `cargo test --no-run`
# and `cargo build --examples` built, in the test profile); otherwise
# `cargo run`, which builds in the dev profile: in CI, a second build of
# most of the workspace.
lbnic() {
    if [ -n "${LBNIC_BIN:-}" ]; then
        "$LBNIC_BIN" "$@"
    else
        cargo run -q --locked -- "$@"
    fi
}
# example PACKAGE NAME ARGS...
example() {
    local pkg=$1 name=$2
    shift 2
    if [ -n "${LBNIC_BIN:-}" ]; then
        "$(dirname "$LBNIC_BIN")/examples/$name" "$@"
    else
        cargo run -q --locked -p "$pkg" --example "$name" -- "$@"
    fi
}
