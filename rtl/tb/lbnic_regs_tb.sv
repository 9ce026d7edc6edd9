// Testbench of the register block, the banks and COMMIT together
// (lbnic_regs + lbnic_bank + lbnic_commit, small target parameters):
// replays the host session of model-tests/examples/rtl_vectors_regs.rs
// (regs.txt: AXI4-Lite register writes and reads, aperture writes and
// read-back, COMMIT doorbells) and checks every read against the model
// Device's value. The pipeline's entry is modelled as packets of random
// length: swap_ok is high only at a packet boundary, and is held off for a
// while after each doorbell (nothing may be published meanwhile); a
// monitor checks ACTIVE_BANK only changes right after a boundary and never
// inside a packet. The pipeline read ports of the active bank (GLOBAL, the
// VIP table, BACKEND, LUT entries) are checked against the model's bank
// bytes and the contract's LUT decoding. Then: RESET and CT_FLUSH self-clear when the pipeline
// acknowledges, counters read as 64 bits across a 2^32 carry, HEARTBEAT
// and NOW move at their rates.
`timescale 1ns / 1ps
module lbnic_regs_tb;
  // the small target (examples/targets/small.toml); checked against regs.txt
  localparam int unsigned MAX_VIPS = 16;
  localparam int unsigned MAX_BACKENDS = 1024;
  localparam int unsigned LUT_ENTRY_BITS = 10;
  localparam int unsigned LUT_ENTRIES = 131072;
  localparam longint unsigned BANK_LEN = 64'h32000;
  localparam logic [63:0] FINGERPRINT = 64'h309ff93cf6757c36;
  localparam int unsigned CLOCK_MHZ = 4;  // fast time: 4 clocks a microsecond
  localparam int unsigned CT_TICK_US = 2;  // a tick every 8 clocks
  localparam int unsigned NC = lbnic_pkg::COUNTER_COUNT;
  localparam int unsigned NP = lbnic_pkg::PARSE_REASON_COUNT;
  localparam int unsigned AAW = $clog2(2 * BANK_LEN);
  localparam int unsigned WAW = $clog2(BANK_LEN / 8);

  logic clk = 0, rst = 1;
  always #5 clk = !clk;

  logic [11:0] awaddr, araddr;
  logic awvalid, awready, wvalid, wready, bvalid, bready, arvalid, arready, rvalid, rready;
  logic [31:0] wdata, rdata;
  logic [1:0] bresp, rresp;
  logic ctl_enable, ctl_ct_host, reset_req, reset_done, ct_flush_req, ct_flush_done, ct_host_ack;
  logic [63:0] staged_gen, active_gen, now;
  logic [31:0] staged_len, staged_crc, commit_result, commit_seq;
  logic commit_doorbell, commit_busy, active_bank, commit_ok, commit_err;
  logic [NC*16-1:0] cnt_add;
  logic cnt_clear;  // (lbnic_top's own registered amounts use it)
  logic [NP-1:0] parse_inc;
  logic ap_valid, ap_ready, ap_write, ap_rvalid, ap_rready;
  logic [AAW-1:0] ap_addr;
  logic [63:0] ap_wdata, ap_rdata;
  logic scan_en, scan_bank, scan_rvalid;
  logic [WAW-1:0] scan_word;
  logic [63:0] scan_rdata;
  logic swap_pend, swap_ok;
  logic [lbnic_pkg::GLOBAL_BITS-1:0] active_global;
  logic [MAX_VIPS*lbnic_pkg::VIP_BITS-1:0] active_vips;
  logic active_nat;  // checked against active_vips by lbnic_bank itself
  logic pbank = 0, be_valid = 0, be_rvalid, lut_valid = 0, lut_rvalid;
  logic [$clog2(MAX_BACKENDS)-1:0] be_index = 0;
  logic [lbnic_pkg::BACKEND_BITS-1:0] be_rdata;
  logic [$clog2(LUT_ENTRIES)-1:0] lut_index = 0;
  logic [LUT_ENTRY_BITS-1:0] lut_rdata;

  lbnic_regs #(
      .CLOCK_MHZ(CLOCK_MHZ),
      .CT_TICK_US(CT_TICK_US),
      .FINGERPRINT(FINGERPRINT)
  ) dut (
      .clk, .rst,
      .s_axi_awaddr(awaddr), .s_axi_awvalid(awvalid), .s_axi_awready(awready),
      .s_axi_wdata(wdata), .s_axi_wstrb(4'hf), .s_axi_wvalid(wvalid), .s_axi_wready(wready),
      .s_axi_bresp(bresp), .s_axi_bvalid(bvalid), .s_axi_bready(bready),
      .s_axi_araddr(araddr), .s_axi_arvalid(arvalid), .s_axi_arready(arready),
      .s_axi_rdata(rdata), .s_axi_rresp(rresp), .s_axi_rvalid(rvalid), .s_axi_rready(rready),
      .ctl_enable, .ctl_ct_host, .reset_req, .reset_done, .ct_flush_req, .ct_flush_done, .ct_host_ack,
      .staged_gen, .staged_len, .staged_crc, .commit_doorbell, .commit_busy,
      .active_bank, .active_gen, .commit_result, .commit_seq, .commit_ok, .commit_err,
      .cnt_add, .cnt_clear, .parse_inc, .now
  );

  lbnic_bank #(
      .MAX_VIPS(MAX_VIPS), .MAX_BACKENDS(MAX_BACKENDS), .LUT_ENTRIES(LUT_ENTRIES), .LUT_ENTRY_BITS(LUT_ENTRY_BITS)
  ) bank (
      .clk, .rst,
      .ap_valid, .ap_ready, .ap_write, .ap_addr, .ap_wdata, .ap_rvalid, .ap_rready, .ap_rdata,
      .scan_start(commit_doorbell), .scan_en, .scan_bank, .scan_word, .scan_rvalid, .scan_rdata,
      .active_bank, .active_global, .active_vips, .active_nat,
      .be_valid, .be_bank(pbank), .be_index, .be_rvalid, .be_rdata,
      .lut_valid, .lut_bank(pbank), .lut_index, .lut_rvalid, .lut_rdata
  );

  lbnic_commit #(
      .MAX_VIPS(MAX_VIPS), .MAX_BACKENDS(MAX_BACKENDS), .LUT_ENTRIES(LUT_ENTRIES), .LUT_ENTRY_BITS(LUT_ENTRY_BITS)
  ) commit (
      .clk, .rst, .doorbell(commit_doorbell), .staged_gen, .staged_len, .staged_crc,
      .scan_en, .scan_bank, .scan_word, .scan_rvalid, .scan_rdata,
      .swap_pend, .swap_ok,
      .active_bank, .active_gen, .commit_result, .commit_seq, .busy(commit_busy), .commit_ok, .commit_err
  );

  // ---- the pipeline's entry: packets of 1..6 clocks; swap_ok at a boundary
  logic hold = 0;
  int unsigned pkt_left = 0;
  logic pkt_bank;
  logic boundary;
  assign boundary = pkt_left == 0;
  assign swap_ok = boundary && !hold;
  logic prev_swap;
  logic prev_bank;
  int unsigned swaps = 0;
  always @(posedge clk) begin
    if (!rst) begin
      // a bank change must follow a clock with swap_ok and swap_pend
      if (active_bank != prev_bank) begin
        if (!prev_swap) $fatal(1, "ACTIVE_BANK changed %0d -> %0d without a packet boundary", prev_bank, active_bank);
        swaps++;
      end
      // every packet sees one bank
      if (!boundary && active_bank != pkt_bank) $fatal(1, "bank changed inside a packet");
    end
    prev_swap <= swap_ok && swap_pend;
    prev_bank <= active_bank;
  end
  always @(negedge clk) begin
    if (pkt_left == 0) begin
      pkt_left = 1 + $urandom_range(5);
      pkt_bank = active_bank;
    end else pkt_left--;
  end

  // ---- pipeline acknowledgements of RESET / CT_FLUSH, some clocks later
  int unsigned reset_wait = 0, flush_wait = 0, reset_reqs = 0, flush_reqs = 0;
  always @(posedge clk) begin
    reset_done <= 1'b0;
    ct_flush_done <= 1'b0;
    if (reset_req) begin
      reset_wait <= 20;
      reset_reqs++;
    end else if (reset_wait == 1) begin
      reset_done <= 1'b1;
      reset_wait <= 0;
    end else if (reset_wait > 0) reset_wait <= reset_wait - 1;
    if (ct_flush_req) begin
      flush_wait <= 30;
      flush_reqs++;
    end else if (flush_wait == 1) begin
      ct_flush_done <= 1'b1;
      flush_wait <= 0;
    end else if (flush_wait > 0) flush_wait <= flush_wait - 1;
  end
  assign ct_host_ack = ctl_ct_host;

  // ---- host tasks (drive on the falling edge, sample on the rising one)
  task automatic axi_write(input logic [11:0] a, input logic [31:0] d);
    @(negedge clk);
    awaddr = a; wdata = d; awvalid = 1; wvalid = 1; bready = 1;
    do @(posedge clk); while (!(awready && wready));
    @(negedge clk);
    awvalid = 0; wvalid = 0;
    while (!bvalid) @(negedge clk);
    @(negedge clk);
    bready = 0;
  endtask

  task automatic axi_read(input logic [11:0] a, output logic [31:0] d);
    @(negedge clk);
    araddr = a; arvalid = 1; rready = 1;
    do @(posedge clk); while (!arready);
    @(negedge clk);
    arvalid = 0;
    while (!rvalid) @(negedge clk);
    d = rdata;
    @(posedge clk);
    @(negedge clk);
    rready = 0;
  endtask

  task automatic ap_wr(input longint unsigned off, input logic [63:0] d);
    ap_addr = AAW'(off); ap_wdata = d; ap_write = 1; ap_valid = 1;
    do @(posedge clk); while (!ap_ready);
    @(negedge clk);
    ap_valid = 0;
  endtask

  task automatic ap_rd(input longint unsigned off, output logic [63:0] d);
    ap_addr = AAW'(off); ap_write = 0; ap_valid = 1; ap_rready = 1;
    do @(posedge clk); while (!ap_ready);
    @(negedge clk);
    ap_valid = 0;
    while (!ap_rvalid) @(negedge clk);
    d = ap_rdata;
    @(posedge clk);
    @(negedge clk);
  endtask

  function automatic string h64(input logic [63:0] x);
    h64 = $sformatf("%h", x);
  endfunction

  // ---- the session
  int fd, n, lines = 0, reads = 0, words = 0, commits = 0, pchecks = 0;
  string cmd, path;
  logic [63:0] a, b, c, d, e, f;
  logic [31:0] r, seq0, v1, v2, v3;
  logic [63:0] w64;
  longint unsigned sum[NC];
  longint unsigned psum[NP];
  initial begin
    awvalid = 0; wvalid = 0; bready = 0; arvalid = 0; rready = 0; awaddr = 0; araddr = 0; wdata = 0;
    ap_valid = 0; ap_write = 0; ap_addr = 0; ap_wdata = 0; ap_rready = 1;
    cnt_add = '0; parse_inc = '0;
    if (!$value$plusargs("vectors=%s", path)) path = "rtl/build/vectors";
    fd = $fopen({path, "/regs.txt"}, "r");
    if (fd == 0) $fatal(1, "cannot open %s/regs.txt", path);
    repeat (4) @(posedge clk);
    @(negedge clk) rst = 0;
    while ($fscanf(fd, "%s", cmd) == 1) begin
      lines++;
      case (cmd)
        "T": begin
          n = $fscanf(fd, "%h %h %h %h %h %h", a, b, c, d, e, f);
          if (a != 64'(MAX_VIPS) || b != 64'(MAX_BACKENDS) || c != 64'(LUT_ENTRY_BITS) || d != 64'(LUT_ENTRIES) || e != BANK_LEN
              || f != FINGERPRINT)
            $fatal(1, "regs.txt is for another target: %h %h %h %h %h %h", a, b, c, d, e, f);
        end
        "W": begin
          n = $fscanf(fd, "%h %h", a, b);
          axi_write(a[11:0], b[31:0]);
        end
        "R": begin
          n = $fscanf(fd, "%h %h", a, b);
          axi_read(a[11:0], r);
          reads++;
          if (r != b[31:0]) $fatal(1, "line %0d: register 0x%03h read 0x%08h, model 0x%08h", lines, a[11:0], r, b[31:0]);
        end
        "B": begin
          n = $fscanf(fd, "%h %h", a, b);
          @(negedge clk);
          for (longint unsigned i = 0; i < b; i++) begin
            n = $fscanf(fd, "%h", w64);
            ap_wr(a + 8 * i, w64);
            words++;
          end
          lines += int'(b);
        end
        "V": begin
          n = $fscanf(fd, "%h %h", a, b);
          @(negedge clk);
          for (longint unsigned i = 0; i < b; i++) begin
            n = $fscanf(fd, "%h", w64);
            ap_rd(a + 8 * i, c);
            if (c != w64) $fatal(1, "aperture 0x%h read %s, model %s", a + 8 * i, h64(c), h64(w64));
          end
          lines += int'(b);
        end
        "D": begin
          n = $fscanf(fd, "%h", a);
          axi_read(12'(lbnic_pkg::REG_COMMIT_SEQ), seq0);
          hold = 1;
          axi_write(12'(lbnic_pkg::REG_COMMIT), a[31:0]);
          if (a[31:0] == lbnic_pkg::COMMIT_MAGIC) begin
            commits++;
            axi_read(12'(lbnic_pkg::REG_STATUS), r);
            if (commit_seq == seq0 && (r & lbnic_pkg::STATUS_COMMIT_BUSY) == 0)
              $fatal(1, "line %0d: STATUS.COMMIT_BUSY not set after the doorbell", lines);
            // wait for the check to finish; if it passed the swap waits
            while (commit_busy && !swap_pend) @(negedge clk);
            if (swap_pend) begin
              repeat (40) @(negedge clk);
              axi_read(12'(lbnic_pkg::REG_COMMIT_SEQ), r);
              if (r != seq0) $fatal(1, "line %0d: COMMIT_SEQ moved before a packet boundary", lines);
            end
            hold = 0;
            // poll COMMIT_SEQ as the host does
            r = seq0;
            for (int t = 0; t < 100 && r == seq0; t++) axi_read(12'(lbnic_pkg::REG_COMMIT_SEQ), r);
            if (r == seq0) $fatal(1, "line %0d: COMMIT_SEQ did not move", lines);
          end else begin
            repeat (50) @(negedge clk);
            if (commit_busy) $fatal(1, "line %0d: a non-magic COMMIT write started a commit", lines);
            hold = 0;
          end
        end
        "P": begin
          n = $fscanf(fd, "%h", a);
          pbank = a[0];
          if (active_bank != a[0]) $fatal(1, "pipeline checks of bank %0d, active is %0d", a[0], active_bank);
        end
        "G": begin
          for (int i = 0; i < lbnic_pkg::GLOBAL_LEN / 8; i++) begin
            n = $fscanf(fd, "%h", w64);
            if (active_global[64*i+:64] != w64) $fatal(1, "active_global word %0d: %s, model %s", i, h64(active_global[64*i+:64]), h64(w64));
          end
          pchecks++;
        end
        "I": begin
          n = $fscanf(fd, "%h", a);
          for (int i = 0; i < 8; i++) begin
            int k;
            k = 512 * int'(a) + 64 * i;
            n = $fscanf(fd, "%h", w64);
            if (active_vips[k+:64] != w64) $fatal(1, "active_vips slot %0d word %0d: %s, model %s", a, i, h64(active_vips[k+:64]), h64(w64));
          end
          pchecks++;
        end
        "E": begin
          logic [255:0] want;
          n = $fscanf(fd, "%h %h %h %h %h", a, b, c, d, e);
          want = {e, d, c, b};
          @(negedge clk);
          be_index = a[$clog2(MAX_BACKENDS)-1:0];
          be_valid = 1;
          @(negedge clk);
          be_valid = 0;
          @(negedge clk);
          if (!be_rvalid) $fatal(1, "BACKEND read latency is not 2");
          if (be_rdata != want) $fatal(1, "BACKEND entry %0d: %h, model %h", a, be_rdata, want);
          pchecks++;
        end
        "L": begin
          n = $fscanf(fd, "%h %h", a, b);
          @(negedge clk);
          lut_index = a[$clog2(LUT_ENTRIES)-1:0];
          lut_valid = 1;
          @(negedge clk);
          lut_valid = 0;
          @(negedge clk);
          if (!lut_rvalid) $fatal(1, "LUT read latency is not 2");
          if (lut_rdata != b[LUT_ENTRY_BITS-1:0]) $fatal(1, "LUT entry %0d: %h, model %h", a, lut_rdata, b[LUT_ENTRY_BITS-1:0]);
          pchecks++;
        end
        default: $fatal(1, "regs.txt line %0d: unknown record %s", lines, cmd);
      endcase
    end
    $fclose(fd);
    if (commits == 0 || reads == 0 || words == 0) $fatal(1, "regs.txt has no session");
    if (swaps == 0) $fatal(1, "no bank swap seen");
    if (pchecks < 1000) $fatal(1, "too few pipeline-port checks (%0d)", pchecks);

    // ---- counters: amounts from the pipeline, 64 bits across the carry
    for (int i = 0; i < NC; i++) begin
      axi_read(12'(lbnic_pkg::COUNTER_RX_PACKETS + 8 * i), v1);
      axi_read(12'(lbnic_pkg::COUNTER_RX_PACKETS + 8 * i + 4), v2);
      sum[i] = {32'(v2), 32'(v1)};
    end
    for (int i = 0; i < NP; i++) psum[i] = 0;
    @(negedge clk);
    for (int k = 0; k < 80000; k++) begin
      for (int i = 0; i < NC; i++) begin
        logic [15:0] amt;
        amt = (i == 1) ? 16'hffff : 16'($urandom_range(3));  // rx_bytes crosses 2^32
        if ((k & 7) == 7) amt = 0;
        cnt_add[16*i+:16] = amt;
        if (12'(lbnic_pkg::COUNTER_RX_PACKETS + 8 * i) != 12'(lbnic_pkg::COUNTER_COMMITS)
            && 12'(lbnic_pkg::COUNTER_RX_PACKETS + 8 * i) != 12'(lbnic_pkg::COUNTER_COMMIT_ERRORS))
          sum[i] += 64'(amt);
      end
      for (int i = 0; i < NP; i++) begin
        parse_inc[i] = 1'($urandom_range(1));
        psum[i] += 64'(parse_inc[i]);
      end
      @(negedge clk);
    end
    cnt_add = '0;
    parse_inc = '0;
    if (sum[1] <= 64'hffffffff) $fatal(1, "rx_bytes did not pass 2^32");
    for (int i = 0; i < NC; i++) begin
      // HI, LO, HI as the host reads
      axi_read(12'(lbnic_pkg::COUNTER_RX_PACKETS + 8 * i + 4), v1);
      axi_read(12'(lbnic_pkg::COUNTER_RX_PACKETS + 8 * i), v2);
      axi_read(12'(lbnic_pkg::COUNTER_RX_PACKETS + 8 * i + 4), v3);
      if (v1 != v3 || {v3, v2} != sum[i]) $fatal(1, "counter %0d read %h%h, expected %h", i, v3, v2, sum[i]);
    end
    for (int i = 0; i < NP; i++) begin
      axi_read(12'(lbnic_pkg::PARSE_ERROR_TRUNCATED + 8 * i + 4), v1);
      axi_read(12'(lbnic_pkg::PARSE_ERROR_TRUNCATED + 8 * i), v2);
      if ({v1, v2} != psum[i]) $fatal(1, "parse counter %0d read %h%h, expected %h", i, v1, v2, psum[i]);
    end

    // ---- HEARTBEAT and NOW
    axi_read(12'(lbnic_pkg::REG_HEARTBEAT), v1);
    axi_read(12'(lbnic_pkg::REG_NOW_LO), v2);
    repeat (800) @(negedge clk);
    axi_read(12'(lbnic_pkg::REG_HEARTBEAT), v3);
    if (v3 - v1 < 200 || v3 - v1 > 203) $fatal(1, "HEARTBEAT moved %0d in 800+ clocks (1 per %0d)", v3 - v1, CLOCK_MHZ);
    axi_read(12'(lbnic_pkg::REG_NOW_LO), v3);
    if (v3 - v2 < 100 || v3 - v2 > 102) $fatal(1, "NOW moved %0d ticks in 800+ clocks (1 per 8)", v3 - v2);

    // ---- CT_FLUSH then RESET: self-clearing once the pipeline is done
    axi_write(12'(lbnic_pkg::REG_CONTROL), lbnic_pkg::CONTROL_ENABLE | lbnic_pkg::CONTROL_CT_FLUSH);
    axi_read(12'(lbnic_pkg::REG_CONTROL), r);
    if (r != (lbnic_pkg::CONTROL_ENABLE | lbnic_pkg::CONTROL_CT_FLUSH)) $fatal(1, "CONTROL after CT_FLUSH: %h", r);
    repeat (40) @(negedge clk);
    axi_read(12'(lbnic_pkg::REG_CONTROL), r);
    if (r != lbnic_pkg::CONTROL_ENABLE) $fatal(1, "CT_FLUSH did not self-clear: CONTROL %h", r);
    axi_read(12'(lbnic_pkg::REG_STATUS), r);
    if (r != (lbnic_pkg::STATUS_READY | lbnic_pkg::STATUS_RUNNING)) $fatal(1, "STATUS %h", r);
    // (amounts up to RESET's clock are not counted after it: the
    // registered amounts clear with the counters; the check below)
    @(negedge clk);
    cnt_add = {NC{16'd1}};
    awaddr = 12'(lbnic_pkg::REG_CONTROL);
    wdata = lbnic_pkg::CONTROL_ENABLE | lbnic_pkg::CONTROL_RESET | lbnic_pkg::CONTROL_CT_HOST;
    awvalid = 1; wvalid = 1; bready = 1;
    do @(posedge clk); while (!(awready && wready));
    @(negedge clk);
    cnt_add = '0;
    awvalid = 0; wvalid = 0;
    while (!bvalid) @(negedge clk);
    @(negedge clk);
    bready = 0;
    axi_read(12'(lbnic_pkg::REG_CONTROL), r);
    if ((r & lbnic_pkg::CONTROL_RESET) == 0) $fatal(1, "RESET not visible before the pipeline is done");
    axi_read(12'(lbnic_pkg::REG_STATUS), r);
    if ((r & lbnic_pkg::STATUS_CT_HOST_ACK) == 0) $fatal(1, "STATUS.CT_HOST_ACK not set: %h", r);
    repeat (30) @(negedge clk);
    axi_read(12'(lbnic_pkg::REG_CONTROL), r);
    if (r != (lbnic_pkg::CONTROL_ENABLE | lbnic_pkg::CONTROL_CT_HOST)) $fatal(1, "RESET did not self-clear: CONTROL %h", r);
    if (reset_reqs != 1 || flush_reqs != 1) $fatal(1, "reset/flush requests %0d %0d", reset_reqs, flush_reqs);
    for (int i = 0; i < NC; i++) begin
      axi_read(12'(lbnic_pkg::COUNTER_RX_PACKETS + 8 * i), v1);
      axi_read(12'(lbnic_pkg::COUNTER_RX_PACKETS + 8 * i + 4), v2);
      if (v1 != 0 || v2 != 0) $fatal(1, "counter %0d not cleared by RESET", i);
    end
    // the banks are not touched by RESET
    axi_read(12'(lbnic_pkg::REG_ACTIVE_GEN_LO), r);
    if (r != active_gen[31:0]) $fatal(1, "ACTIVE_GEN");
    $display("lbnic_regs_tb: %0d vector lines, %0d register reads checked against the model, %0d aperture words, %0d commits, %0d swaps, %0d pipeline-port reads (GLOBAL, VIP, BACKEND, LUT)",
             lines, reads, words, commits, swaps, pchecks);
    $display("PASS");
    $finish;
  end
endmodule
