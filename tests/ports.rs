//! The cycle model's ports through the CLI: a GUE VIP offered 64-byte
//! frames at 100 GbE line rate cannot leave at line rate (each frame grows
//! by 28 bytes); the report shows the egress port full, never above it,
//! and the excess dropped at the MAC (`rx_overflow`, with a warning), or,
//! with `--rx-source axis`, held back at the source instead.

mod common;

use common::{json, ok, Tmp};

#[test]
fn replay_output_never_exceeds_the_port_and_the_mac_counts_overflow() {
    let t = Tmp::new();
    let cfg = t.write(
        "gue.toml",
        "[device]\nmac = \"02:00:5e:00:00:01\"\ngateway_mac = \"02:00:5e:00:00:fe\"\nmax_frame = 9216\n\
         [[vip]]\nname = \"gue\"\naddress = \"192.0.2.53\"\nport = 53\nprotocol = \"udp\"\nmode = \"tun-gue\"\n\
         [[vip.backend]]\nname = \"g1\"\naddress = \"198.18.0.1\"\n\
         [[vip.backend]]\nname = \"g2\"\naddress = \"198.18.0.2\"\n",
    );
    let img = t.s("gue.img");
    ok(&["compile", &cfg, "-o", &img]);
    let trace = t.s("in.pcap");
    ok(&[
        "gen", &cfg, "-o", &trace, "-n", "20000", "--flows", "2000", "--sizes", "64", "--rate", "line",
        "--ipv6", "0",
    ]);
    let base = [
        "replay", &img, &trace, "--model", "cycle", "--timing", "line", "--json",
    ];
    let r = json(&base);
    let l1 = r["achieved"]["gbps_l1"].as_f64().unwrap();
    assert!(l1 <= 100.0 && l1 > 95.0, "achieved {}", r["achieved"]);
    let overflow = r["counters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c[0] == "rx_overflow")
        .map(|c| c[1].as_u64().unwrap())
        .unwrap();
    assert!(overflow > 1000, "{}", r["counters"]);
    assert_eq!(r["cycle"]["rx_overflow"].as_u64().unwrap(), overflow);
    assert_eq!(r["achieved"]["packets"].as_u64().unwrap() + overflow, 20000);
    assert!(
        r["warnings"].to_string().contains("rx_overflow"),
        "{}",
        r["warnings"]
    );
    assert!(r["cycle"]["stalls"].to_string().contains("tx_port"));
    // A back-pressured source loses nothing; the port still caps the rate.
    let mut axis = base.to_vec();
    axis.extend(["--rx-source", "axis"]);
    let r = json(&axis);
    assert_eq!(r["achieved"]["packets"], 20000);
    let l1 = r["achieved"]["gbps_l1"].as_f64().unwrap();
    assert!(l1 <= 100.0 && l1 > 95.0, "achieved {}", r["achieved"]);
    assert_eq!(r["cycle"]["rx_source"], "axis");
    assert!(
        r["cycle"]["fifo_high_water"][0][1].as_u64().unwrap() > 1000,
        "{}",
        r["cycle"]
    );
}
