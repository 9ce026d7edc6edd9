// FRONT's classification (docs/spec.md §12.1 point 1, §6 VIP match, §7
// hashing): a parsed packet (lbnic_pipe_pkg::parsed_t, from the parser) in,
// its lbnic_pipe_pkg::meta_t out, exactly as hw_model::pipeline::classify_into
// decides it (the class: NoVip / ParseError / Bypass / Vip / Fragment /
// Reverse, its conntrack key, flow hash and candidate buckets).
//
// meta_t fields a class does not have (Rust's enum has no such field) are
// zero: NoVip / ParseError / Bypass carry only len and now; Reverse has no
// hash, slot, stateless or tcp_flags; Fragment has no stateless/tcp_flags,
// and slot 0 when slot_valid is 0 (Rust `slot: None`).
//
// The bank: `global` (global_t) and the VIP table `vips` of the bank the
// packet classifies with, slot i on bits [512i +: 512] (a flat vector: Yosys
// 0.23 takes no packed arrays on ports), and `bank_valid` (Rust `bank:
// Option<&ActiveBank>`: no bank committed classifies everything that parses
// as NoVip). `enabled` (CONTROL.ENABLE) is sampled with the packet as it is
// taken (Bypass when clear). The bank is sampled once per packet, at the
// clock edge the packet leaves the input register s0: the VIP CAM, NAT
// presence and all three Toeplitz units read it at that same edge, so a bank
// switch between two packets never splits one.
//
// VIP CAM (ActiveBank::match_vip = lookup::best_vip, match_fragment,
// has_nat): every slot compares in parallel; a slot is a VIP when its VALID
// flag is set (a validated bank's invalid slots are zero). Its rank against
// the lookup tuple (address, protocol, port) is vip_rank: protocol equal
// (0) or VIP "any" with TCP/UDP (2), plus port equal (0) or VIP port 0 (1);
// the best rank wins, then the lowest slot. The tuple is (inner source,
// inner protocol, inner source port) for an ICMP error, else (destination,
// protocol, destination port). A later fragment matches on (address,
// protocol) only: one such VIP gives its slot, several give slot None, none
// is NoVip. has_nat: any valid slot in mode NAT.
//
// Hashes (Toeplitz is linear, so a hash of address pair plus ports is the
// pair's "IP only" hash XOR the ports' contribution at their input offset
// 8 (IPv4) or 32 (IPv6), i.e. the 4-byte Toeplitz of the ports under the
// key from that byte on). Three lbnic_toeplitz units, all 3 clocks:
//   pair:  the key's address pair (IP only): a fragment's meta.hash;
//   kport: the key's ports; key hash = pair ^ kport (CtKey::flow_hash);
//   oport: the packet's own ports; own-flow hash = pair ^ oport, needed
//          only when a first fragment for no VIP is a NAT reply (Reverse,
//          keyed by its own flow while its Fragment key is the datagram's).
// The key: reported_flow (ICMP error: inner flow reversed), frag_key (a
// fragment: addresses, protocol, identification high / low half in the
// source / destination port, FLAG_FRAG) or own_flow. Its flow hash goes
// through lbnic_lookup_index for the candidate buckets a, b (ct_bucket).
//
// Pipeline, one packet per clock, never stalls (the output FIFO is credit
// counted: in_ready is registered and only high while the packets in flight
// plus those in the FIFO leave room for one more):
//   s0      input register (parsed_t, len, now, enabled)
//   c1      CAM compare -> rank masks (one per rank) and the fragment mask,
//           has_nat; Toeplitz stage 1
//   c2      best non-empty rank mask, lowest slot as a one-hot; the same for
//           the fragment mask, and whether it has several; Toeplitz 2
//   c3      one-hot -> slot number; Toeplitz 3 (hashes out)
//   (c3 comb) the class; the key hash into lbnic_lookup_index
//   +1+MUL_STAGES  candidate buckets out: meta_t complete, pushed into the
//           output FIFO; the counter strobes fire
//   +2      through lbnic_axis_fifo (RAM, output register) to out_valid.
// Latency from the clock in_valid && in_ready to out_valid (no back
// pressure): LATENCY = 7 + MUL_STAGES clocks (9 by default); the counter
// strobes come CNT_LATENCY = 5 + MUL_STAGES clocks after the input.
// With the parse's, this is the contract's FRONT_LATENCY, which the cycle
// model charges (spec §12.3, decision 1); lbnic_top checks the sum.
//
// Counters (what classify counts), one strobe per counter, for the packet
// entering the output FIFO that clock (independent of out_ready):
//   cnt_rx_packets        RX_PACKETS += 1 (every packet)
//   cnt_rx_bytes          RX_BYTES += this amount (the frame length; valid
//                         with cnt_rx_packets)
//   cnt_parse_error       PARSE_ERRORS + 8 * cnt_parse_reason += 1
//   cnt_frag_packets      FRAG_PACKETS += 1 (class Fragment)
module lbnic_front #(
    parameter int unsigned MAX_VIPS = lbnic_pkg::TARGET_MAX_VIPS,
    parameter int unsigned CT_BUCKET_BITS = lbnic_pkg::TARGET_CT_BUCKET_BITS,
    parameter int unsigned CT_PAGE_BUCKETS = lbnic_pkg::TARGET_CT_PAGE_BUCKETS,
    parameter int unsigned MUL_STAGES = 2,
    // packets the output FIFO holds (a power of two >= 2)
    parameter int unsigned OUT_DEPTH = 16,
    // for testbenches and the parent: clocks from input to out_valid and to
    // the counter strobes
    /* verilator lint_off UNUSEDPARAM */
    localparam int unsigned LATENCY = 7 + MUL_STAGES,
    localparam int unsigned CNT_LATENCY = 5 + MUL_STAGES
    /* verilator lint_on UNUSEDPARAM */
) (
    input  logic                              clk,
    input  logic                              rst,

    input  logic                              in_valid,
    output logic                              in_ready,
    input  lbnic_pipe_pkg::parsed_t           in_parsed,
    input  logic [15:0]                       in_len,
    input  logic [31:0]                       in_now,

    input  logic                              enabled,
    input  logic                              bank_valid,
    /* verilator lint_off UNUSEDSIGNAL */
    input  lbnic_pkg::global_t                global_cfg,  // only the Toeplitz key
    /* verilator lint_on UNUSEDSIGNAL */
    /* verilator lint_off UNUSEDSIGNAL */
    // the CAM reads address, port, protocol, flags and mode
    input  logic [MAX_VIPS*lbnic_pkg::VIP_BITS-1:0] vips,
    /* verilator lint_on UNUSEDSIGNAL */
    // has_nat of `vips`: a valid slot in mode NAT (lbnic_bank keeps a flag
    // per slot with its registers)
    input  logic                              vips_nat,

    output logic                              out_valid,
    input  logic                              out_ready,
    output lbnic_pipe_pkg::meta_t             out_meta,

    output logic                              cnt_rx_packets,
    output logic [15:0]                       cnt_rx_bytes,
    output logic                              cnt_parse_error,
    output logic [2:0]                        cnt_parse_reason,  // parse_reason_e
    output logic                              cnt_frag_packets
);
  localparam int unsigned SLOT_W = MAX_VIPS > 1 ? $clog2(MAX_VIPS) : 1;
  localparam int unsigned BUCKET_W = CT_BUCKET_BITS > 0 ? CT_BUCKET_BITS : 1;
  localparam int unsigned VB = lbnic_pkg::VIP_BITS;
  localparam int unsigned CNT_W = $clog2(OUT_DEPTH + 1);
  // entry codes as plain 8-bit constants (Verilator 5.006 miscompares a
  // size cast of a package enum member)
  localparam logic [7:0] C_NAT = lbnic_pkg::MODE_NAT;
  localparam logic [7:0] C_TCP = lbnic_pkg::PROTO_TCP;
  localparam logic [7:0] C_UDP = lbnic_pkg::PROTO_UDP;
  localparam logic [7:0] C_ANY = lbnic_pkg::PROTO_ANY;
  localparam logic [7:0] C_VALID = 8'(lbnic_pkg::VIP_FLAG_VALID);

  if (MAX_VIPS < 1 || MAX_VIPS > 65536) begin : g_vips_check
    $error("MAX_VIPS must be 1..65536");
  end

  // The lowest set bit of a mask, as its slot number (OR of the indices of
  // a one-hot: no priority chain).
  function automatic logic [SLOT_W-1:0] onehot_index(input logic [MAX_VIPS-1:0] oh);
    onehot_index = '0;
    for (int unsigned i = 0; i < MAX_VIPS; i++) begin
      if (oh[i]) onehot_index = onehot_index | SLOT_W'(i);
    end
  endfunction

  // ---------------------------------------------------------------- s0
  logic                    s0_valid;
  /* verilator lint_off UNUSEDSIGNAL */
  lbnic_pipe_pkg::parsed_t s0_p;  // FRONT reads the fields classify reads
  /* verilator lint_on UNUSEDSIGNAL */
  logic [15:0]             s0_len;
  logic [31:0]             s0_now;
  logic                    s0_en;
  logic                    take;
  assign take = in_valid && in_ready;

  always_ff @(posedge clk) begin
    s0_valid <= take;
    if (take) begin
      s0_p <= in_parsed;
      s0_len <= in_len;
      s0_now <= in_now;
      s0_en <= enabled;
    end
    if (rst) s0_valid <= 1'b0;
  end

  // Control bits the class decision needs, carried to c3.
  typedef struct packed {
    logic                          en;
    // (Yosys 0.23 takes no package enum inside a module's typedef)
    logic [1:0]                    status;  // parse_status_e
    logic [2:0]                    reason;  // parse_reason_e
    logic                          icmp;
    logic [1:0]                    frag;    // frag_e
    logic [15:0]                   own_sport;
    logic [15:0]                   own_dport;
    logic [7:0]                    tcp_flags;
    logic [15:0]                   len;
    logic [31:0]                   now;
  } ctl_t;

  // The key (reported_flow / frag_key / own_flow) and the lookup tuple.
  lbnic_pipe_pkg::ct_key_t c0_key;
  logic [127:0]            look_addr;  // byte k on [8k+7:8k]
  logic [7:0]              look_proto;
  logic [15:0]             look_port;
  ctl_t                    c0_ctl;

  always_comb begin
    c0_key.v6 = s0_p.ipv6;
    if (s0_p.icmp_error_valid) begin
      c0_key.src = s0_p.icmp_error.dst;
      c0_key.dst = s0_p.icmp_error.src;
      c0_key.sport = s0_p.icmp_error.dport;
      c0_key.dport = s0_p.icmp_error.sport;
      c0_key.proto = s0_p.icmp_error.proto;
      c0_key.frag = 1'b0;
      look_addr = s0_p.icmp_error.src;
      look_proto = s0_p.icmp_error.proto;
      look_port = s0_p.icmp_error.sport;
    end else begin
      c0_key.src = s0_p.src;
      c0_key.dst = s0_p.dst;
      c0_key.proto = s0_p.proto;
      c0_key.frag = s0_p.frag != lbnic_pipe_pkg::FRAG_NONE;
      if (c0_key.frag) begin
        c0_key.sport = s0_p.frag_id[31:16];
        c0_key.dport = s0_p.frag_id[15:0];
      end else begin
        c0_key.sport = s0_p.sport;
        c0_key.dport = s0_p.dport;
      end
      look_addr = s0_p.dst;
      look_proto = s0_p.proto;
      look_port = s0_p.dport;
    end
    c0_ctl.en = s0_en;
    c0_ctl.status = s0_p.status;
    c0_ctl.reason = s0_p.reason;
    c0_ctl.icmp = s0_p.icmp_error_valid;
    c0_ctl.frag = s0_p.frag;
    c0_ctl.own_sport = s0_p.sport;
    c0_ctl.own_dport = s0_p.dport;
    c0_ctl.tcp_flags = s0_p.tcp_flags;
    c0_ctl.len = s0_len;
    c0_ctl.now = s0_now;
  end

  // ---------------------------------------------------------------- CAM
  logic [MAX_VIPS-1:0] rank0, rank1, rank2, rank3, fmask, natm;
  logic                look_tcp_udp;
  assign look_tcp_udp = look_proto == C_TCP || look_proto == C_UDP;

  for (genvar i = 0; i < MAX_VIPS; i++) begin : g_cam
    // vip_t fields by the package's offsets (Yosys 0.23 resolves no struct
    // members inside a generate loop); integers are little-endian, so a
    // field's bits read as its number
    localparam int unsigned B = VB * i;
    logic [127:0] v_addr;
    logic [15:0]  v_port;
    logic [7:0]   v_proto, v_flags, v_mode;
    logic hit, pr0, pr2, po0, po1;
    assign v_addr = vips[B + 8*lbnic_pkg::VIP_ADDR_OFF +: 128];
    assign v_port = vips[B + 8*lbnic_pkg::VIP_PORT_OFF +: 16];
    assign v_proto = vips[B + 8*lbnic_pkg::VIP_PROTO_OFF +: 8];
    assign v_flags = vips[B + 8*lbnic_pkg::VIP_FLAGS_OFF +: 8];
    assign v_mode = vips[B + 8*lbnic_pkg::VIP_MODE_OFF +: 8];
    assign hit = |(v_flags & C_VALID) && v_addr == look_addr;
    assign pr0 = v_proto == look_proto;
    assign pr2 = v_proto == C_ANY && look_tcp_udp;
    assign po0 = v_port == look_port;
    assign po1 = v_port == 16'h0;
    assign rank0[i] = hit && pr0 && po0;
    assign rank1[i] = hit && pr0 && !po0 && po1;
    assign rank2[i] = hit && !pr0 && pr2 && po0;
    assign rank3[i] = hit && !pr0 && pr2 && !po0 && po1;
    assign fmask[i] = hit && (pr0 || pr2);
    assign natm[i] = |(v_flags & C_VALID) && v_mode == C_NAT;
  end

  // ---------------------------------------------------------------- c1
  logic                    c1_valid;
  logic [MAX_VIPS-1:0]     c1_r0, c1_r1, c1_r2, c1_r3, c1_fm;
  logic                    c1_nat, c1_bank;
  lbnic_pipe_pkg::ct_key_t c1_key;
  ctl_t                    c1_ctl;

  always_ff @(posedge clk) begin
    c1_valid <= s0_valid;
    if (s0_valid) begin
      c1_r0 <= rank0;
      c1_r1 <= rank1;
      c1_r2 <= rank2;
      c1_r3 <= rank3;
      c1_fm <= fmask;
      c1_nat <= vips_nat;
      c1_bank <= bank_valid;
      c1_key <= c0_key;
      c1_ctl <= c0_ctl;
    end
    if (rst) c1_valid <= 1'b0;
  end

  // (has_nat comes in as a flag: the compare per slot and the OR over the
  // slots behind the bank's mux were 8 LUT levels; natm checks it here)
`ifndef SYNTHESIS
  always_ff @(posedge clk)
    if (!rst && vips_nat != |natm) $error("lbnic_front: vips_nat apart from the VIP table");
`endif

  // best rank, lowest slot; the fragment mask's lowest slot and its count
  logic [MAX_VIPS-1:0] sel, sel_oh, f_oh;
  always_comb begin
    if (|c1_r0) sel = c1_r0;
    else if (|c1_r1) sel = c1_r1;
    else if (|c1_r2) sel = c1_r2;
    else sel = c1_r3;
    sel_oh = sel & (~sel + MAX_VIPS'(1));
    f_oh = c1_fm & (~c1_fm + MAX_VIPS'(1));
  end

  // ---------------------------------------------------------------- c2
  logic                    c2_valid;
  logic [MAX_VIPS-1:0]     c2_oh, c2_foh;
  logic                    c2_found, c2_fany, c2_fmany, c2_nat, c2_bank;
  lbnic_pipe_pkg::ct_key_t c2_key;
  ctl_t                    c2_ctl;

  always_ff @(posedge clk) begin
    c2_valid <= c1_valid;
    if (c1_valid) begin
      c2_oh <= sel_oh;
      c2_found <= |sel;
      c2_foh <= f_oh;
      c2_fany <= |c1_fm;
      c2_fmany <= |(c1_fm & ~f_oh);
      c2_nat <= c1_nat;
      c2_bank <= c1_bank;
      c2_key <= c1_key;
      c2_ctl <= c1_ctl;
    end
    if (rst) c2_valid <= 1'b0;
  end

  // ---------------------------------------------------------------- c3
  logic                    c3_valid;
  logic [SLOT_W-1:0]       c3_slot, c3_fslot;
  logic                    c3_found, c3_fany, c3_fmany, c3_nat, c3_bank;
  lbnic_pipe_pkg::ct_key_t c3_key;
  ctl_t                    c3_ctl;

  always_ff @(posedge clk) begin
    c3_valid <= c2_valid;
    if (c2_valid) begin
      c3_slot <= onehot_index(c2_oh);
      c3_fslot <= onehot_index(c2_foh);
      c3_found <= c2_found;
      c3_fany <= c2_fany;
      c3_fmany <= c2_fmany;
      c3_nat <= c2_nat;
      c3_bank <= c2_bank;
      c3_key <= c2_key;
      c3_ctl <= c2_ctl;
    end
    if (rst) c3_valid <= 1'b0;
  end

  // ---------------------------------------------------------------- hashes
  logic [319:0] tz_key;
  assign tz_key = global_cfg.toeplitz_key;

  logic [255:0] pair_in;
  logic [5:0]   pair_len;
  logic [31:0]  kport_in, oport_in;
  logic [63:0]  port_key;  // the key from the ports' input offset on
  always_comb begin
    if (c0_key.v6) begin
      pair_in = {c0_key.dst, c0_key.src};
      pair_len = 6'd32;
      port_key = tz_key[8*32 +: 64];
    end else begin
      pair_in = {192'h0, c0_key.dst[15:12], c0_key.src[15:12]};
      pair_len = 6'd8;
      port_key = tz_key[8*8 +: 64];
    end
    // byte 0 first: ports in network byte order
    kport_in = {c0_key.dport[7:0], c0_key.dport[15:8], c0_key.sport[7:0], c0_key.sport[15:8]};
    oport_in = {s0_p.dport[7:0], s0_p.dport[15:8], s0_p.sport[7:0], s0_p.sport[15:8]};
  end

  logic        h_valid, kp_valid, op_valid;
  logic [31:0] pair_hash, kport_hash, oport_hash;

  lbnic_toeplitz #(.IN_BYTES(32)) u_pair (
      .clk, .rst, .in_valid(s0_valid), .in_data(pair_in), .in_len(pair_len),
      .key(tz_key), .out_valid(h_valid), .out_hash(pair_hash)
  );
  lbnic_toeplitz #(.IN_BYTES(4), .KEY_BYTES(8)) u_kport (
      .clk, .rst, .in_valid(s0_valid), .in_data(kport_in), .in_len(3'd4),
      .key(port_key), .out_valid(kp_valid), .out_hash(kport_hash)
  );
  lbnic_toeplitz #(.IN_BYTES(4), .KEY_BYTES(8)) u_oport (
      .clk, .rst, .in_valid(s0_valid), .in_data(oport_in), .in_len(3'd4),
      .key(port_key), .out_valid(op_valid), .out_hash(oport_hash)
  );

  // ---------------------------------------------------------------- class
  typedef struct packed {
    logic       rx;
    logic [15:0] bytes;
    logic       pe;
    logic [2:0] reason;
    logic       frag;
  } cnt_t;

  lbnic_pipe_pkg::meta_t d_meta;
  cnt_t                  d_cnt;
  localparam int unsigned META_W = $bits(d_meta);
  logic [31:0]           key_hash, own_hash, bucket_hash;
  logic                  has_bucket;
  /* verilator lint_off UNUSEDSIGNAL */
  logic                  hashes_valid;  // equal to c3_valid by construction
  /* verilator lint_on UNUSEDSIGNAL */
  assign hashes_valid = h_valid & kp_valid & op_valid;

  always_comb begin
    logic frag_first, frag_none, frag_sv;
    logic [SLOT_W-1:0] frag_slot;
    key_hash = pair_hash ^ kport_hash;
    own_hash = pair_hash ^ oport_hash;
    bucket_hash = key_hash;
    has_bucket = 1'b0;
    d_meta = '0;
    d_meta.len = c3_ctl.len;
    d_meta.now = c3_ctl.now;
    d_cnt = '0;
    d_cnt.rx = 1'b1;
    d_cnt.bytes = c3_ctl.len;
    d_cnt.reason = c3_ctl.reason;
    frag_first = c3_ctl.frag == lbnic_pipe_pkg::FRAG_FIRST;
    frag_none = frag_first ? !c3_found : !c3_fany;
    frag_sv = frag_first ? c3_found : c3_fany && !c3_fmany;
    frag_slot = frag_first ? c3_slot : c3_fslot;
    d_meta.class_kind = lbnic_pipe_pkg::CLASS_NO_VIP;
    if (!c3_ctl.en) begin
      d_meta.class_kind = lbnic_pipe_pkg::CLASS_BYPASS;
    end else if (c3_ctl.status == lbnic_pipe_pkg::PARSE_ERROR) begin
      d_meta.class_kind = lbnic_pipe_pkg::CLASS_PARSE_ERROR;
      d_cnt.pe = 1'b1;
    end else if (c3_ctl.status != lbnic_pipe_pkg::PARSE_OK || !c3_bank) begin
      d_meta.class_kind = lbnic_pipe_pkg::CLASS_NO_VIP;
    end else if (c3_ctl.icmp || c3_ctl.frag == lbnic_pipe_pkg::FRAG_NONE) begin
      if (c3_found) begin
        d_meta.class_kind = lbnic_pipe_pkg::CLASS_VIP;
        d_meta.slot = 16'(c3_slot);
        d_meta.key = c3_key;
        d_meta.hash = key_hash;
        d_meta.stateless = c3_ctl.icmp;
        d_meta.tcp_flags = c3_ctl.icmp ? 8'h0 : c3_ctl.tcp_flags;
        has_bucket = 1'b1;
      end else if (c3_nat) begin
        d_meta.class_kind = lbnic_pipe_pkg::CLASS_REVERSE;
        d_meta.key = c3_key;
        has_bucket = 1'b1;
      end
    end else if (frag_none) begin
      // a first fragment for no VIP may be a NAT reply: its own flow
      if (frag_first && c3_nat) begin
        d_meta.class_kind = lbnic_pipe_pkg::CLASS_REVERSE;
        d_meta.key = c3_key;
        d_meta.key.sport = c3_ctl.own_sport;
        d_meta.key.dport = c3_ctl.own_dport;
        d_meta.key.frag = 1'b0;
        bucket_hash = own_hash;
        has_bucket = 1'b1;
      end
    end else begin
      d_meta.class_kind = lbnic_pipe_pkg::CLASS_FRAGMENT;
      d_meta.slot_valid = frag_sv;
      d_meta.slot = frag_sv ? 16'(frag_slot) : 16'h0;
      d_meta.key = c3_key;
      d_meta.hash = pair_hash;
      has_bucket = 1'b1;
      d_cnt.frag = 1'b1;
    end
  end

  // ---------------------------------------------------------------- buckets
  logic                li_valid;
  /* verilator lint_off UNUSEDSIGNAL */
  logic [31:0]         li_index;  // FRONT needs no lookup index
  /* verilator lint_on UNUSEDSIGNAL */
  logic [BUCKET_W-1:0] li_a, li_b;

  lbnic_lookup_index #(
      .CT_BUCKET_BITS(CT_BUCKET_BITS),
      .CT_PAGE_BUCKETS(CT_PAGE_BUCKETS),
      .MUL_STAGES(MUL_STAGES)
  ) u_buckets (
      .clk, .rst, .in_valid(c3_valid), .in_hash(bucket_hash), .in_m(32'h0),
      .out_valid(li_valid), .out_index(li_index), .out_ct_a(li_a), .out_ct_b(li_b)
  );

  // meta, counters and has_bucket alongside the bucket computation
  localparam int unsigned CW = $bits(d_cnt);
  localparam int unsigned DW = META_W + CW + 1;
  localparam int unsigned DL = 1 + MUL_STAGES;
  logic [DW*DL-1:0] dline;
  logic [DW-1:0]    dlast;
  always_ff @(posedge clk) begin
    dline[DW-1:0] <= {d_meta, d_cnt, has_bucket};
    for (int unsigned i = 1; i < DL; i++) dline[DW*i +: DW] <= dline[DW*(i-1) +: DW];
  end
  assign dlast = dline[DW*(DL-1) +: DW];

  lbnic_pipe_pkg::meta_t e_meta;
  cnt_t                  e_cnt;
  logic                  e_has_bucket;
  always_comb begin
    {e_meta, e_cnt, e_has_bucket} = dlast;
    if (e_has_bucket) begin
      e_meta.bucket_a = 32'(li_a);
      e_meta.bucket_b = 32'(li_b);
    end
  end

  assign cnt_rx_packets = li_valid && e_cnt.rx;
  assign cnt_rx_bytes = e_cnt.bytes;
  assign cnt_parse_error = li_valid && e_cnt.pe;
  assign cnt_parse_reason = e_cnt.reason;
  assign cnt_frag_packets = li_valid && e_cnt.frag;

  // ---------------------------------------------------------------- output
  /* verilator lint_off UNUSEDSIGNAL */
  logic fifo_ready;  // always high when a packet arrives (credits)
  logic fifo_last, fifo_user;
  logic fifo_keep;
  /* verilator lint_on UNUSEDSIGNAL */
  logic [META_W-1:0] fifo_data;

  lbnic_axis_fifo #(
      .DEPTH(OUT_DEPTH),
      .DATA_WIDTH(META_W),
      .KEEP_ENABLE(1'b0),
      .KEEP_WIDTH(1),
      .LAST_ENABLE(1'b0)
  ) u_out (
      .clk, .rst,
      .s_axis_tdata(e_meta), .s_axis_tkeep(1'b1), .s_axis_tvalid(li_valid),
      .s_axis_tready(fifo_ready), .s_axis_tlast(1'b1), .s_axis_tuser(1'b0),
      .m_axis_tdata(fifo_data), .m_axis_tkeep(fifo_keep), .m_axis_tvalid(out_valid),
      .m_axis_tready(out_ready), .m_axis_tlast(fifo_last), .m_axis_tuser(fifo_user)
  );
  assign out_meta = fifo_data;

  // credits: packets taken and not yet delivered
  logic [CNT_W-1:0] used, used_next;
  assign used_next = used + CNT_W'(take) - CNT_W'(out_valid && out_ready);
  always_ff @(posedge clk) begin
    used <= used_next;
    in_ready <= used_next < CNT_W'(OUT_DEPTH);
    if (rst) begin
      used <= '0;
      in_ready <= 1'b0;
    end
  end
endmodule
