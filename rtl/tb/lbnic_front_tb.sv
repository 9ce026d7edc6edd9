// Testbench of lbnic_front: FRONT's classification against the Rust model
// (hw_model::pipeline::classify), vectors written by
// model-tests/examples/rtl_vectors_front.rs into +vectors=DIR
// (front_global.txt, front_vips.txt, front_pkts.txt: see there). Packets
// go in with random gaps; the bank changes between the file's bank groups
// once the pipeline has drained. Even banks run without back pressure and
// every meta must come out exactly LATENCY clocks after its input; odd
// banks see a random out_ready (order and content checked, and in_ready
// must hold the pipeline within the FIFO). Every meta_t and the counter
// strobes of every packet are compared bit for bit; the first mismatch is
// printed field by field and exits non-zero. Prints PASS.
module lbnic_front_tb;
  localparam int MAX_VIPS = lbnic_pkg::TARGET_MAX_VIPS;
  localparam int MUL_STAGES = 2;
  localparam int LATENCY = 7 + MUL_STAGES;
  localparam int CNT_LATENCY = 5 + MUL_STAGES;
  localparam int MAX_BANKS = 8;
  localparam int MAX_PKTS = 20000;
  localparam int PB = $bits(lbnic_pipe_pkg::parsed_t);
  localparam int MB = $bits(lbnic_pipe_pkg::meta_t);
  localparam int PW = PB > MB ? PB : MB;
  localparam int VB = lbnic_pkg::VIP_BITS;

  logic clk = 1'b0;
  logic rst = 1'b1;
  always #1 clk = ~clk;

  logic                    in_valid = 1'b0;
  logic                    in_ready;
  lbnic_pipe_pkg::parsed_t in_parsed = '0;
  logic [15:0]             in_len = '0;
  logic [31:0]             in_now = '0;
  logic                    enabled = 1'b0;
  logic                    bank_valid = 1'b0;
  lbnic_pkg::global_t      global_cfg = '0;
  logic [MAX_VIPS*VB-1:0]  vips;
  logic                    vips_nat;  // as lbnic_bank keeps it: a valid NAT slot
  logic                    out_valid;
  logic                    out_ready = 1'b1;
  lbnic_pipe_pkg::meta_t   out_meta;
  logic                    cnt_rx_packets, cnt_parse_error, cnt_frag_packets;
  logic [15:0]             cnt_rx_bytes;
  logic [2:0]              cnt_parse_reason;

  lbnic_front #(.MAX_VIPS(MAX_VIPS), .MUL_STAGES(MUL_STAGES)) dut (
      .clk, .rst, .in_valid, .in_ready, .in_parsed, .in_len, .in_now,
      .enabled, .bank_valid, .global_cfg, .vips, .vips_nat,
      .out_valid, .out_ready, .out_meta,
      .cnt_rx_packets, .cnt_rx_bytes, .cnt_parse_error, .cnt_parse_reason, .cnt_frag_packets
  );

  logic [2047:0] gmem [MAX_BANKS + 1];
  logic [VB-1:0] vmem [MAX_BANKS * MAX_VIPS];
  logic [PW-1:0] pmem [4 * MAX_PKTS + 3];
  int unsigned   n, nbanks;

  function automatic logic [63:0] ctl_of(int i);
    ctl_of = 64'(pmem[3 + 4*i]);
  endfunction
  function automatic lbnic_pipe_pkg::meta_t want_meta(int i);
    want_meta = pmem[3 + 4*i + 2][MB-1:0];
  endfunction
  function automatic logic [21:0] want_cnt(int i);
    want_cnt = 22'(pmem[3 + 4*i + 3]);
  endfunction

  // The pipeline samples the bank (and bank_valid) one clock after it
  // takes a packet: bank_valid follows the packet taken last.
  logic next_bv = 1'b0;
  always @(posedge clk) if (in_valid && in_ready) bank_valid <= next_bv;

  function automatic string class_name(lbnic_pipe_pkg::class_e c);
    case (c)
      lbnic_pipe_pkg::CLASS_NO_VIP: class_name = "NoVip";
      lbnic_pipe_pkg::CLASS_PARSE_ERROR: class_name = "ParseError";
      lbnic_pipe_pkg::CLASS_BYPASS: class_name = "Bypass";
      lbnic_pipe_pkg::CLASS_VIP: class_name = "Vip";
      lbnic_pipe_pkg::CLASS_FRAGMENT: class_name = "Fragment";
      lbnic_pipe_pkg::CLASS_REVERSE: class_name = "Reverse";
      default: class_name = "?";
    endcase
  endfunction

  function automatic string meta_str(lbnic_pipe_pkg::meta_t m);
    meta_str = $sformatf(
        "%s slot_valid %0d slot %0d key{src %032x dst %032x sport %0d dport %0d proto %0d v6 %0d frag %0d} hash %08x bucket a %0x b %0x stateless %0d tcp_flags %02x len %0d now %0d",
        class_name(m.class_kind), m.slot_valid, m.slot, m.key.src, m.key.dst, m.key.sport, m.key.dport,
        m.key.proto, m.key.v6, m.key.frag, m.hash, m.bucket_a, m.bucket_b, m.stateless, m.tcp_flags,
        m.len, m.now);
  endfunction

  function automatic string parsed_str(lbnic_pipe_pkg::parsed_t p);
    parsed_str = $sformatf(
        "status %0d reason %0d v6 %0d src %032x dst %032x proto %0d frag %0d id %08x sport %0d dport %0d flags %02x icmp %0d{src %032x dst %032x proto %0d sport %0d dport %0d}",
        p.status, p.reason, p.ipv6, p.src, p.dst, p.proto, p.frag, p.frag_id, p.sport, p.dport,
        p.tcp_flags, p.icmp_error_valid, p.icmp_error.src, p.icmp_error.dst, p.icmp_error.proto,
        p.icmp_error.sport, p.icmp_error.dport);
  endfunction

  int out_q [$];     // packet numbers, in input order
  int due_q [$];     // the cycle each is due (exact-latency banks), else -1
  int cnt_q [$];
  int cnt_due_q [$];
  int cycle = 0;
  int checked = 0;
  int cnt_checked = 0;
  bit exact = 1'b1;  // this bank runs without back pressure
  int in_flight_max = 0;
  int cur_pkt = 0;   // the packet on the input
  bit took = 1'b0;   // the DUT took it

  always @(posedge clk) begin
    if (!rst && in_valid && in_ready) begin
      automatic int i = cur_pkt;
      took = 1'b1;
      out_q.push_back(i);
      due_q.push_back(exact ? cycle + LATENCY : -1);
      cnt_q.push_back(i);
      cnt_due_q.push_back(cycle + CNT_LATENCY);
    end
    if (!rst && out_valid && out_ready) begin
      if (out_q.size() == 0) $fatal(1, "FAIL: a meta with no packet in flight at cycle %0d", cycle);
      begin
        automatic int i = out_q.pop_front();
        automatic int due = due_q.pop_front();
        automatic lbnic_pipe_pkg::meta_t w = want_meta(i);
        automatic logic [63:0] c = ctl_of(i);
        if (out_meta !== w || (due >= 0 && due != cycle)) begin
          $display("FAIL: packet %0d (bank %0d, enabled %0d, bank_valid %0d) at cycle %0d (due %0d)",
                   i, c[57:50], c[49], c[48], cycle, due);
          $display("  parsed: %s", parsed_str(pmem[3 + 4*i + 1][PB-1:0]));
          $display("  got:    %s", meta_str(out_meta));
          $display("  want:   %s", meta_str(w));
          $fatal(1, "lbnic_front: mismatch");
        end
        checked++;
      end
    end
    if (!rst && (cnt_rx_packets || cnt_parse_error || cnt_frag_packets)) begin
      if (cnt_q.size() == 0 || !cnt_rx_packets) $fatal(1, "FAIL: counter strobes with no packet at cycle %0d", cycle);
      begin
        automatic int i = cnt_q.pop_front();
        automatic int due = cnt_due_q.pop_front();
        automatic logic [21:0] w = want_cnt(i);
        automatic logic [21:0] g = {1'b1, cnt_rx_bytes, cnt_parse_error,
                                    cnt_parse_error ? cnt_parse_reason : 3'd0, cnt_frag_packets};
        if (g !== w || due != cycle) begin
          $display("FAIL: packet %0d counters at cycle %0d (due %0d): rx_bytes %0d parse_error %0d reason %0d frag %0d, want rx_bytes %0d parse_error %0d reason %0d frag %0d",
                   i, cycle, due, g[20:5], g[4], g[3:1], g[0], w[20:5], w[4], w[3:1], w[0]);
          $fatal(1, "lbnic_front: counter mismatch");
        end
        cnt_checked++;
      end
    end
    if (out_q.size() > in_flight_max) in_flight_max = out_q.size();
    cycle++;
  end


  logic [MAX_VIPS*VB-1:0] vips_next;
  task automatic load_bank(int b);
    logic nat_next = 1'b0;
    global_cfg = gmem[1 + b];
    for (int s = 0; s < MAX_VIPS; s++) begin
      vips_next[VB*s +: VB] = vmem[MAX_VIPS*b + s];
      if (vmem[MAX_VIPS*b + s][8*lbnic_pkg::VIP_FLAGS_OFF] &&
          vmem[MAX_VIPS*b + s][8*lbnic_pkg::VIP_MODE_OFF +: 8] == 8'd3)  // MODE_NAT
        nat_next = 1'b1;
    end
    vips = vips_next;  // one assignment: the DUT's logic sees one change
    vips_nat = nat_next;
  endtask

  initial begin
    string dir;
    int bank = -1;
    if (!$value$plusargs("vectors=%s", dir)) dir = "rtl/build/vectors";
    $readmemh({dir, "/front_global.txt"}, gmem);
    $readmemh({dir, "/front_vips.txt"}, vmem);
    $readmemh({dir, "/front_pkts.txt"}, pmem);
    n = pmem[0][31:0];
    nbanks = gmem[0][31:0];
    if (pmem[1] != PW'(PB) || pmem[2] != PW'(MB))
      $fatal(1, "%s/front_pkts.txt: parsed_t %0d bits, meta_t %0d bits; the RTL has %0d, %0d",
             dir, pmem[1], pmem[2], PB, MB);
    if (n < 1000 || n > MAX_PKTS || nbanks < 2 || nbanks > MAX_BANKS)
      $fatal(1, "%s: %0d packets, %0d banks", dir, n, nbanks);

    repeat (4) @(negedge clk);
    rst = 1'b0;
    for (int i = 0; i < int'(n); i++) begin
      automatic logic [63:0] c = ctl_of(i);
      if (int'(c[57:50]) != bank) begin
        // drain, then switch the bank
        in_valid = 1'b0;
        while (out_q.size() != 0 || cnt_q.size() != 0) begin
          out_ready = 1'b1;
          @(negedge clk);
        end
        bank = int'(c[57:50]);
        load_bank(bank);
        exact = bank % 2 == 0;
        @(negedge clk);
      end
      while ($urandom_range(4) == 0) begin
        in_valid = 1'b0;
        in_parsed = ~in_parsed;  // junk while in_valid is low
        if (!exact) out_ready = $urandom_range(2) != 0;
        @(negedge clk);
      end
      in_valid = 1'b1;
      cur_pkt = i;
      in_parsed = pmem[3 + 4*i + 1][PB-1:0];
      in_len = c[47:32];
      in_now = c[31:0];
      enabled = c[49];
      next_bv = c[48];
      took = 1'b0;
      do begin
        if (!exact) out_ready = $urandom_range(2) != 0;
        @(negedge clk);
      end while (!took);
    end
    in_valid = 1'b0;
    out_ready = 1'b1;
    repeat (LATENCY + 8) @(negedge clk);
    if (out_q.size() != 0 || cnt_q.size() != 0)
      $fatal(1, "FAIL: %0d metas / %0d counter strobes never came out", out_q.size(), cnt_q.size());
    if (checked != int'(n) || cnt_checked != int'(n))
      $fatal(1, "lbnic_front: %0d metas, %0d counter sets of %0d checked", checked, cnt_checked, n);
    $display("lbnic_front: %0d packets over %0d banks PASS (max %0d in flight)", n, nbanks, in_flight_max);
    $finish;
  end
endmodule

