// Testbench of lbnic_parse: every frame of +vectors=DIR/parse.vec (written
// from the Rust model by `cargo run -p hw-model-tests --example
// rtl_vectors_parse`) goes through the parser; its parsed_t must equal the
// model's outcome: the status and reason always, every field of an OK frame
// (the quote's only when there is one). Phase 1 streams the first vectors
// back to back with out_ready high and checks the latency (LATENCY clocks
// from acceptance) and one result per clock; phase 2 drives the rest with
// random in_valid gaps and out_ready back-pressure and checks order and
// content. The first mismatch stops with the frame's name and a field diff.
`timescale 1ns / 1ps
module lbnic_parse_tb;
  localparam int unsigned W = lbnic_pkg::PARSE_WINDOW;
  localparam int unsigned LATENCY = lbnic_pkg::PARSE_LATENCY;
  localparam int unsigned PHASE1 = 2000;

  logic clk = 1'b0;
  logic rst = 1'b1;
  always #5 clk = ~clk;

  logic                    in_valid;
  logic                    in_ready;
  logic [8*W-1:0]          in_window;
  logic [15:0]             in_len;
  logic                    out_valid;
  logic                    out_ready;
  lbnic_pipe_pkg::parsed_t out_parsed;

  lbnic_parse #(.W(W)) dut (.*);

  // The vectors.
  logic [8*W-1:0]          v_win[$];
  logic [15:0]             v_len[$];
  lbnic_pipe_pkg::parsed_t v_exp[$];
  string                   v_name[$];

  task automatic load(input string path);
    int fd;
    int n;
    logic [31:0] len, status, reason, vv, vlan, l2, l3, v6, proto, l3len, l4, frag, fid;
    logic [31:0] sport, dport, flags, iv, iproto, isport, idport, il4, tos, df;
    logic [8*W-1:0] win;
    logic [47:0] dmac, smac;
    logic [127:0] src, dst, isrc, idst;
    string name;
    lbnic_pipe_pkg::parsed_t e;
    fd = $fopen(path, "r");
    if (fd == 0) $fatal(1, "cannot open %s", path);
    while (!$feof(fd)) begin
      n = $fscanf(fd, "%h %h %h %h %h %h %h %h %h %h %h %h %h %h %h %h %h %h %h %h %h %h %h %h %h %h %h %h %h %h %s\n",
                  len, win, status, reason, dmac, smac, vv, vlan, l2, l3, v6, src, dst, proto,
                  l3len, l4, frag, fid, sport, dport, flags, iv, isrc, idst, iproto, isport,
                  idport, il4, tos, df, name);
      if (n != 31) begin
        if (n <= 0 && $feof(fd)) break;
        $fatal(1, "%s: malformed line after %0d vectors (%0d fields)", path, v_len.size(), n);
      end
      e = '0;
      e.status = lbnic_pipe_pkg::parse_status_e'(status[1:0]);
      e.reason = lbnic_pipe_pkg::parse_reason_e'(reason[2:0]);
      e.dst_mac = dmac;
      e.src_mac = smac;
      e.vlan_valid = vv[0];
      e.vlan = vlan[15:0];
      e.l2_len = l2[13:0];
      e.l3_offset = l3[13:0];
      e.ipv6 = v6[0];
      e.src = src;
      e.dst = dst;
      e.proto = proto[7:0];
      e.l3_len = l3len[15:0];
      e.l4_offset = l4[13:0];
      e.frag = lbnic_pipe_pkg::frag_e'(frag[1:0]);
      e.frag_id = fid;
      e.sport = sport[15:0];
      e.dport = dport[15:0];
      e.tcp_flags = flags[7:0];
      e.icmp_error_valid = iv[0];
      e.icmp_error.src = isrc;
      e.icmp_error.dst = idst;
      e.icmp_error.proto = iproto[7:0];
      e.icmp_error.sport = isport[15:0];
      e.icmp_error.dport = idport[15:0];
      e.icmp_error.l4_offset = il4[13:0];
      e.tos = tos[7:0];
      e.df = df[0];
      v_win.push_back(win);
      v_len.push_back(len[15:0]);
      v_exp.push_back(e);
      v_name.push_back(name);
    end
    $fclose(fd);
  endtask

  function automatic string diff(input lbnic_pipe_pkg::parsed_t e, input lbnic_pipe_pkg::parsed_t g);
    string d = "";
    if (g.status != e.status) return $sformatf("status: expected %s %s, got %s %s", e.status.name(), e.reason.name(), g.status.name(), g.reason.name());
    if (e.status == lbnic_pipe_pkg::PARSE_ERROR && g.reason != e.reason)
      return $sformatf("reason: expected %s, got %s", e.reason.name(), g.reason.name());
    if (e.status != lbnic_pipe_pkg::PARSE_OK) return "";
    if (g.dst_mac != e.dst_mac) d = {d, $sformatf(" dst_mac %h/%h", e.dst_mac, g.dst_mac)};
    if (g.src_mac != e.src_mac) d = {d, $sformatf(" src_mac %h/%h", e.src_mac, g.src_mac)};
    if (g.vlan_valid != e.vlan_valid || g.vlan != e.vlan)
      d = {d, $sformatf(" vlan %0d:%h/%0d:%h", e.vlan_valid, e.vlan, g.vlan_valid, g.vlan)};
    if (g.l2_len != e.l2_len) d = {d, $sformatf(" l2_len %0d/%0d", e.l2_len, g.l2_len)};
    if (g.l3_offset != e.l3_offset) d = {d, $sformatf(" l3_offset %0d/%0d", e.l3_offset, g.l3_offset)};
    if (g.ipv6 != e.ipv6) d = {d, $sformatf(" ipv6 %0d/%0d", e.ipv6, g.ipv6)};
    if (g.src != e.src) d = {d, $sformatf(" src %h/%h", e.src, g.src)};
    if (g.dst != e.dst) d = {d, $sformatf(" dst %h/%h", e.dst, g.dst)};
    if (g.proto != e.proto) d = {d, $sformatf(" proto %0d/%0d", e.proto, g.proto)};
    if (g.l3_len != e.l3_len) d = {d, $sformatf(" l3_len %0d/%0d", e.l3_len, g.l3_len)};
    if (g.l4_offset != e.l4_offset) d = {d, $sformatf(" l4_offset %0d/%0d", e.l4_offset, g.l4_offset)};
    if (g.frag != e.frag) d = {d, $sformatf(" frag %s/%s", e.frag.name(), g.frag.name())};
    if (g.frag_id != e.frag_id) d = {d, $sformatf(" frag_id %h/%h", e.frag_id, g.frag_id)};
    if (g.sport != e.sport) d = {d, $sformatf(" sport %0d/%0d", e.sport, g.sport)};
    if (g.dport != e.dport) d = {d, $sformatf(" dport %0d/%0d", e.dport, g.dport)};
    if (g.tcp_flags != e.tcp_flags) d = {d, $sformatf(" tcp_flags %h/%h", e.tcp_flags, g.tcp_flags)};
    if (g.tos != e.tos || g.df != e.df)
      d = {d, $sformatf(" tos/df %h:%0d/%h:%0d", e.tos, e.df, g.tos, g.df)};
    if (g.icmp_error_valid != e.icmp_error_valid)
      d = {d, $sformatf(" icmp_error_valid %0d/%0d", e.icmp_error_valid, g.icmp_error_valid)};
    else if (e.icmp_error_valid) begin
      if (g.icmp_error.src != e.icmp_error.src)
        d = {d, $sformatf(" icmp_error.src %h/%h", e.icmp_error.src, g.icmp_error.src)};
      if (g.icmp_error.dst != e.icmp_error.dst)
        d = {d, $sformatf(" icmp_error.dst %h/%h", e.icmp_error.dst, g.icmp_error.dst)};
      if (g.icmp_error.proto != e.icmp_error.proto)
        d = {d, $sformatf(" icmp_error.proto %0d/%0d", e.icmp_error.proto, g.icmp_error.proto)};
      if (g.icmp_error.sport != e.icmp_error.sport)
        d = {d, $sformatf(" icmp_error.sport %0d/%0d", e.icmp_error.sport, g.icmp_error.sport)};
      if (g.icmp_error.dport != e.icmp_error.dport)
        d = {d, $sformatf(" icmp_error.dport %0d/%0d", e.icmp_error.dport, g.icmp_error.dport)};
      if (g.icmp_error.l4_offset != e.icmp_error.l4_offset)
        d = {d, $sformatf(" icmp_error.l4_offset %0d/%0d", e.icmp_error.l4_offset,
                          g.icmp_error.l4_offset)};
    end
    if (d != "") d = {"(expected/got)", d};
    return d;
  endfunction

  int unsigned sent = 0;
  int unsigned got = 0;
  longint unsigned cycle = 0;
  longint unsigned accepted_at[$];
  int unsigned n_ok = 0, n_notlb = 0, n_err = 0;

  // Check on the rising edge.
  always @(posedge clk) begin
    cycle <= cycle + 1;
    if (!rst && out_valid && out_ready) begin
      string d;
      if (got >= sent) $fatal(1, "output without an input (%0d outputs)", got);
      d = diff(v_exp[got], out_parsed);
      if (d != "")
        $fatal(1, "MISMATCH vector %0d '%s' (len %0d): %s", got, v_name[got], v_len[got], d);
      if (got < PHASE1 && cycle - accepted_at[got] != longint'(LATENCY))
        $fatal(1, "vector %0d '%s': latency %0d, expected %0d", got, v_name[got],
               cycle - accepted_at[got], LATENCY);
      case (v_exp[got].status)
        lbnic_pipe_pkg::PARSE_OK: n_ok++;
        lbnic_pipe_pkg::PARSE_NOT_LB: n_notlb++;
        default: n_err++;
      endcase
      got <= got + 1;
    end
    if (!rst && in_valid && in_ready) begin
      accepted_at.push_back(cycle);
      sent <= sent + 1;
    end
  end

  // Drive on the falling edge.
  initial begin
    string dir;
    if (!$value$plusargs("vectors=%s", dir)) dir = "rtl/build/vectors";
    load({dir, "/parse.vec"});
    if (v_len.size() < 1000) $fatal(1, "only %0d vectors", v_len.size());
    in_valid = 1'b0;
    in_window = '0;
    in_len = '0;
    out_ready = 1'b1;
    repeat (3) @(negedge clk);
    rst = 1'b0;
    while (got < v_len.size()) begin
      @(negedge clk);
      if (sent >= PHASE1 && got >= PHASE1) out_ready = ($urandom % 4) != 0;
      if (sent < v_len.size() && (sent < PHASE1 || ($urandom % 5) != 0)) begin
        in_valid = 1'b1;
        in_window = v_win[sent];
        in_len = v_len[sent];
      end else begin
        in_valid = 1'b0;
      end
      if (sent >= PHASE1 && got < PHASE1) in_valid = 1'b0;  // drain phase 1
      if (cycle > 64 * longint'(v_len.size()) + 1000) $fatal(1, "timeout: %0d of %0d out", got, v_len.size());
    end
    $display("lbnic_parse_tb: %0d frames (%0d ok, %0d not LB, %0d parse errors) match the Rust model, latency %0d",
             got, n_ok, n_notlb, n_err, LATENCY);
    $display("PASS");
    $finish;
  end
endmodule
