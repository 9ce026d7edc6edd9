// Testbench of lbnic_ct_engine (CT_REQ + CT_EXEC) against the functional
// model: vectors from model-tests/examples/rtl_vectors_ctx.rs in
// +vectors=DIR (ctx_<target>_*: see there), for two targets run side by
// side by lbnic_ct_engine_run: `small` (examples/targets/small.toml, 1024
// buckets x 4 ways) and `tiny` (16 x 2: relocations, evictions,
// refusals). The engine's parameters are the target's; the package is the
// default one (entry layouts are the contract's, the same in every
// target; the runner checks that the two actions the engine reads from
// the package, TARGET_NO_VIP_ACTION / TARGET_PARSE_ERROR_ACTION, are the
// vectors' target's).
//
// The testbench models the conntrack memory (zero at start; a read is
// answered with the bucket as it is when the request is taken, after 3-10
// clocks, out of order by tag; writes apply at once, masked; random
// ready gaps on both), and the bank read ports (2-clock reads of the
// vectors' BACKEND and LUT arrays). Packets go in with random gaps and
// decisions are taken with random back-pressure; between packets whose
// bank, CT_HOST or bank presence differ, and before a CT_FLUSH / RESET,
// the driver waits for every decision (a commit drains the pipeline).
// Every decision_t is compared in order (and the VIP and backend entries
// of Forward / ReverseNat); at the end, once `swept`, the sums of cnt_inc
// of the seven CT_* counters equal the model's after its sweep. Prints PASS,
// or $fatal on the first mismatch.
`timescale 1ns / 1ps
module lbnic_ct_engine_run #(
    parameter string NAME = "small",
    parameter int unsigned WAYS = 4,
    parameter int unsigned BUCKET_BITS = 10,
    parameter int unsigned MAX_VIPS = 16,
    parameter int unsigned MAX_BACKENDS = 1024,
    parameter int unsigned LUT_ENTRIES = 131072,
    parameter int unsigned LUT_ENTRY_BITS = 10,
    parameter int unsigned SEED = 1
) (
    input  logic clk,
    input  logic rst,
    output logic done
);
  localparam int unsigned BBITS = WAYS * 512;
  localparam int unsigned NB = 1 << BUCKET_BITS;
  localparam int unsigned BIW = $clog2(MAX_BACKENDS);
  localparam int unsigned LIW = $clog2(LUT_ENTRIES);
  localparam int unsigned NC = lbnic_pkg::COUNTER_COUNT;
  localparam int unsigned MAXB = 4;
  localparam int unsigned VB = lbnic_pkg::VIP_BITS;
  localparam int unsigned RC = lbnic_pkg::REG_COUNTERS;
  localparam int unsigned CIDX[7] = '{
      (lbnic_pkg::COUNTER_CT_HITS - RC) / 8, (lbnic_pkg::COUNTER_CT_MISSES - RC) / 8,
      (lbnic_pkg::COUNTER_CT_INSERTS - RC) / 8, (lbnic_pkg::COUNTER_CT_EVICTIONS - RC) / 8,
      (lbnic_pkg::COUNTER_CT_AGEOUTS - RC) / 8, (lbnic_pkg::COUNTER_CT_RELOCATIONS - RC) / 8,
      (lbnic_pkg::COUNTER_CT_INSERT_REFUSED - RC) / 8};

  // DUT
  logic bank_valid = 1'b0, ct_host = 1'b0, clear = 1'b0, flush_req = 1'b0, flush_done;
  logic bank_swap = 1'b0;  // the top's COMMIT swap pulse
  lbnic_pkg::global_t global_cfg;
  logic [MAX_VIPS*VB-1:0] vips;
  logic in_valid = 1'b0, in_ready, out_valid, out_ready = 1'b0;
  lbnic_pipe_pkg::meta_t in_meta = '0, out_meta;
  lbnic_pipe_pkg::parsed_t in_parsed = '0, out_parsed;
  lbnic_pipe_pkg::decision_t out_decision;
  lbnic_pkg::vip_t out_vip;
  lbnic_pkg::backend_t out_backend;
  logic be_valid, be_rvalid, lut_valid, lut_rvalid;
  logic [BIW-1:0] be_index;
  logic [LIW-1:0] lut_index;
  logic [lbnic_pkg::BACKEND_BITS-1:0] be_rdata;
  logic [LUT_ENTRY_BITS-1:0] lut_rdata;
  logic ct_rd_valid, ct_rd_ready = 1'b0, ct_rsp_valid = 1'b0, ct_wr_valid, ct_wr_ready = 1'b0;
  logic [7:0] ct_rd_tag, ct_rsp_tag = '0;
  logic [BUCKET_BITS-1:0] ct_rd_bucket, ct_wr_bucket;
  logic [BBITS-1:0] ct_rsp_data = '0, ct_wr_data;
  logic [WAYS-1:0] ct_wr_mask;
  logic [NC-1:0] cnt_inc;
  logic swept, rmw_busy, busy;
  /* verilator lint_off UNUSEDSIGNAL */
  logic ct_bg;  // (the harness's probe)
  /* verilator lint_on UNUSEDSIGNAL */
  // the harness's other probe: decisions ready to leave, counted; every
  // decision is ready once, before or as it leaves, and a ready head
  // (out_valid) is one of them
  logic [1:0] ready_n;
  int unsigned n_ready = 0, n_left = 0;
  always @(posedge clk) begin
    if (!rst) begin
      n_ready += 32'(ready_n);
      n_left += 32'(out_valid && out_ready);
      if (n_left > n_ready || (out_valid && !out_ready && n_left + 1 > n_ready))
        $fatal(1, "%s: a decision left or showed before ready_n counted it", NAME);
    end
  end

  lbnic_ct_engine #(
      .WAYS(WAYS), .BUCKET_BITS(BUCKET_BITS), .MAX_VIPS(MAX_VIPS), .MAX_BACKENDS(MAX_BACKENDS),
      .LUT_ENTRIES(LUT_ENTRIES), .LUT_ENTRY_BITS(LUT_ENTRY_BITS)
  ) dut (.*);

  // ---------------------------------------------------------------- vectors
  typedef struct packed {
    logic [3:0] event_;
    logic [3:0] bank;
    logic host;
    logic bv;
    lbnic_pipe_pkg::meta_t meta;
    lbnic_pipe_pkg::parsed_t parsed;
    lbnic_pipe_pkg::decision_t dec;
    lbnic_pkg::vip_t vip;
    lbnic_pkg::backend_t be;
  } pkt_t;
  pkt_t pk[$];
  logic [2047:0] gmem[MAXB];
  logic [VB-1:0] vmem[MAXB*MAX_VIPS];
  logic [255:0] bemem[MAXB*MAX_BACKENDS];
  logic [LUT_ENTRY_BITS-1:0] lutmem[MAXB*LUT_ENTRIES];
  logic [63:0] want_cnt[7];
  int cur_bank = 0;

  initial begin
    string dir, line;
    int fd, n, nbanks, npkts;
    int h[8];
    pkt_t x;
    logic [3:0] ev, bk;
    logic hs, bv;
    logic [$bits(lbnic_pipe_pkg::meta_t)-1:0] mv;
    logic [$bits(lbnic_pipe_pkg::parsed_t)-1:0] pv;
    logic [$bits(lbnic_pipe_pkg::decision_t)-1:0] dv;
    logic [VB-1:0] vv;
    logic [255:0] bev;
    if (!$value$plusargs("vectors=%s", dir)) dir = "rtl/build/vectors";
    fd = $fopen({dir, "/ctx_", NAME, "_pkts.txt"}, "r");
    if (fd == 0) $fatal(1, "%s: cannot open %s/ctx_%s_pkts.txt", NAME, dir, NAME);
    n = $fscanf(fd, "%h %h %h %h %h %h %h %h %h %h\n", h[0], h[1], h[2], h[3], h[4], h[5], h[6],
                h[7], nbanks, npkts);
    if (n != 10) $fatal(1, "%s: bad header", NAME);
    if (h[0] != WAYS || h[1] != BUCKET_BITS || h[2] != MAX_VIPS || h[3] != MAX_BACKENDS
        || h[4] != LUT_ENTRIES || h[5] != LUT_ENTRY_BITS)
      $fatal(1, "%s: the vectors' target is not the testbench's parameters", NAME);
    if (h[6] != lbnic_pkg::TARGET_NO_VIP_ACTION || h[7] != lbnic_pkg::TARGET_PARSE_ERROR_ACTION)
      $fatal(1, "%s: the target's miss actions differ from the package's", NAME);
    if (nbanks > MAXB) $fatal(1, "%s: %0d banks", NAME, nbanks);
    while (!$feof(fd)) begin
      n = $fscanf(fd, "%h %h %h %h %h %h %h %h %h\n", ev, bk, hs, bv, mv, pv, dv, vv, bev);
      if (n <= 0) break;
      if (n != 9) $fatal(1, "%s: vector %0d: %0d fields", NAME, pk.size(), n);
      x.meta = mv;
      x.parsed = pv;
      x.dec = dv;
      x.vip = vv;
      x.be = bev;
      x.event_ = ev;
      x.bank = bk;
      x.host = hs;
      x.bv = bv;
      pk.push_back(x);
    end
    $fclose(fd);
    if (pk.size() != npkts) $fatal(1, "%s: %0d of %0d packets read", NAME, pk.size(), npkts);
    $display("%s: %0d packets, %0d banks", NAME, npkts, nbanks);
    $readmemh({dir, "/ctx_", NAME, "_global.hex"}, gmem);
    $readmemh({dir, "/ctx_", NAME, "_vips.hex"}, vmem);
    $readmemh({dir, "/ctx_", NAME, "_be.hex"}, bemem);
    $readmemh({dir, "/ctx_", NAME, "_lut.hex"}, lutmem);
    fd = $fopen({dir, "/ctx_", NAME, "_cnt.txt"}, "r");
    if (fd == 0) $fatal(1, "%s: no counters", NAME);
    n = $fscanf(fd, "%h %h %h %h %h %h %h", want_cnt[0], want_cnt[1], want_cnt[2], want_cnt[3],
                want_cnt[4], want_cnt[5], want_cnt[6]);
    if (n != 7) $fatal(1, "%s: bad counters", NAME);
    $fclose(fd);
  end

  // the active bank
  always_comb begin
    global_cfg = gmem[cur_bank];
    for (int i = 0; i < MAX_VIPS; i++) vips[VB*i +: VB] = vmem[cur_bank * MAX_VIPS + i];
  end

  // ---------------------------------------------------------------- bank ports
  logic [1:0] be_p = '0, lut_p = '0;
  logic [BIW-1:0] be_i1, be_i2;
  logic [LIW-1:0] lut_i1, lut_i2;
  always @(posedge clk) begin
    be_p <= {be_p[0], be_valid};
    be_i1 <= be_index;
    be_i2 <= be_i1;
    lut_p <= {lut_p[0], lut_valid};
    lut_i1 <= lut_index;
    lut_i2 <= lut_i1;
  end
  assign be_rvalid = be_p[1];
  assign be_rdata = bemem[cur_bank * MAX_BACKENDS + int'(be_i2)];
  assign lut_rvalid = lut_p[1];
  assign lut_rdata = lutmem[cur_bank * LUT_ENTRIES + int'(lut_i2)];

  // ---------------------------------------------------------------- memory
  logic [BBITS-1:0] mem[NB];
  typedef struct packed {
    logic [7:0] tag;
    logic [BBITS-1:0] data;
    logic [63:0] due;
  } rsp_t;
  rsp_t rq[$];
  longint cyc = 0;
  int lat = 3;  // +ctlat=N: the memory's minimum latency (N to N+7 clocks)
  initial begin
    for (int i = 0; i < NB; i++) mem[i] = '0;
    if (!$value$plusargs("ctlat=%d", lat)) lat = 3;
  end
  always @(posedge clk) begin
    cyc <= cyc + 1;
    ct_rsp_valid <= 1'b0;
    if (ct_rd_valid && ct_rd_ready) begin
      rsp_t r;
      r.tag = ct_rd_tag;
      r.data = mem[ct_rd_bucket];
      r.due = 64'(cyc + longint'(lat) + longint'($urandom_range(7)));
      rq.push_back(r);
    end
    if (ct_wr_valid && ct_wr_ready) begin
      for (int w = 0; w < WAYS; w++)
        if (ct_wr_mask[w]) mem[ct_wr_bucket][512*w +: 512] <= ct_wr_data[512*w +: 512];
    end
    for (int i = 0; i < rq.size(); i++) begin
      if (rq[i].due <= 64'(cyc)) begin
        ct_rsp_valid <= 1'b1;
        ct_rsp_tag <= rq[i].tag;
        ct_rsp_data <= rq[i].data;
        rq.delete(i);
        break;
      end
    end
    ct_rd_ready <= $urandom_range(3) != 0;
    ct_wr_ready <= $urandom_range(3) != 0;
    out_ready <= $urandom_range(3) != 0;
  end

  // ---------------------------------------------------------------- counters
  logic [63:0] sums[NC];
  logic sum_clr = 1'b0;
  // sampled on the falling edge: a strobe is one clock wide
  always @(negedge clk) begin
    for (int k = 0; k < NC; k++) begin
      if (sum_clr) sums[k] = 64'd0;
      else if (cnt_inc[k]) sums[k] = sums[k] + 64'd1;
    end
  end

  // ---------------------------------------------------------------- driver
  // (drives on the falling edge; in_ready is read half a clock later, when
  // it has settled, and the next rising edge takes the packet if it is set)
  int rcv = 0;
  longint t0 = 0;
  int seed;
  initial begin
    done = 1'b0;
    // +seed=N: another random run (gaps, latencies, back-pressure)
    if (!$value$plusargs("seed=%d", seed)) seed = 0;
    void'($urandom(SEED + seed));
    @(negedge rst);
    @(negedge clk);
    t0 = cyc;
    for (int k = 0; k < pk.size(); k++) begin
      pkt_t x;
      x = pk[k];
      if (k == 0 || x.event_ != 0 || int'(x.bank) != cur_bank || x.host != ct_host
          || x.bv != bank_valid) begin
        while (rcv != k) @(negedge clk);
        bank_swap = (int'(x.bank) != cur_bank) || (x.bv && !bank_valid);
        cur_bank = int'(x.bank);
        ct_host = x.host;
        bank_valid = x.bv;
        if (x.event_ == 1) flush_req = 1'b1;
        if (x.event_ == 2) clear = 1'b1;
        @(negedge clk);
        flush_req = 1'b0;
        clear = 1'b0;
        bank_swap = 1'b0;
        repeat (2) @(negedge clk);  // the engine applies a swap 2 clocks on
        if (x.event_ != 0) begin
          while (!flush_done) @(negedge clk);
          if (x.event_ == 2) begin
            sum_clr = 1'b1;
            @(negedge clk);
            sum_clr = 1'b0;
          end
        end
      end
      repeat ($urandom_range(3) == 0 ? $urandom_range(20) : 0) @(negedge clk);
      in_valid = 1'b1;
      in_meta = x.meta;
      in_parsed = x.parsed;
      forever begin
        #0.5;
        if (in_ready) begin
          @(negedge clk);
          break;
        end
        @(negedge clk);
      end
      in_valid = 1'b0;
    end
    while (rcv != pk.size()) @(negedge clk);
    if (n_ready != n_left) $fatal(1, "%s: ready_n counted %0d decisions, %0d left", NAME, n_ready, n_left);
    $display("%s: all decisions at %0t; %0d clocks for %0d packets (memory latency %0d-%0d): %0d.%02d clocks per packet",
             NAME, $time, cyc - t0, pk.size(), lat, lat + 7, (cyc - t0) / longint'(pk.size()),
             ((cyc - t0) * 100 / longint'(pk.size())) % 100);
    while (!swept) @(negedge clk);
    repeat (4) @(negedge clk);
    for (int i = 0; i < 7; i++) begin
      if (sums[CIDX[i]] != want_cnt[i])
        $fatal(1, "%s: counter %0d (index %0d): %0d, the model %0d", NAME, i, CIDX[i],
               sums[CIDX[i]], want_cnt[i]);
    end
    $display("%s: %0d packets, decisions and CT counters (hits %0d misses %0d inserts %0d evictions %0d ageouts %0d relocations %0d refused %0d) equal",
             NAME, pk.size(), want_cnt[0], want_cnt[1], want_cnt[2], want_cnt[3], want_cnt[4],
             want_cnt[5], want_cnt[6]);
    done = 1'b1;
  end

  // ---------------------------------------------------------------- statistics
  // (printed with the clocks per packet: where CT_EXEC's clocks go, and
  // CT_REQ's read-ahead: hazard-table stalls, bucket reads of queued
  // packets, of which re-reads after a write to their bucket)
  longint n_exrd = 0, n_t = 0, n_sc = 0, n_hw = 0, n_hz = 0, n_iss = 0, n_need = 0;
  longint n_post = 0, n_inline = 0, n_fwd = 0, n_ufwd = 0, n_ulk = 0, n_us = 0;
  longint n_nr = 0, n_take = 0, n_fb = 0, n_lft = 0, n_wrpop = 0, n_ix = 0;
  longint n_pm = 0, n_pmh = 0, n_pmx = 0, n_plx = 0, n_plu = 0, n_pbe = 0;
  longint n_rhb = 0, n_rhw = 0, n_rra = 0, n_rrh = 0, n_rrb = 0;
  longint n_ps = 0, n_psd = 0, n_psx = 0, n_psh = 0, n_nrh = 0, n_nrw = 0;
  always @(posedge clk) begin
    if (!rst && !done) begin
      // S_RD_A, S_RD_B, S_RD_W: CT_EXEC's own reads (NAT return, no read-ahead)
      // (states by number, the engine's state_e order)
      if (dut.st == 2 || dut.st == 3 || (dut.st == 4 && !(dut.got_a && dut.got_b))) n_exrd <= n_exrd + 1;
      if (dut.st == 22 && dut.rm_free) n_t <= n_t + 1;  // a relocation posted
      // S_RH's first clock with a unit busy; S_PUT's clocks waiting for
      // every unit after a hint of a bucket one held
      if (dut.st == 20 && dut.rh_in == '0 && dut.rm_busy) n_rhb <= n_rhb + 1;
      if (dut.st == 19 && dut.rh_wait) n_rhw <= n_rhw + 1;
      // S_SCHED: an RR / WRR miss with its LUT entry read during the match
      if (dut.st == 11 && dut.sp == 2'd3 && dut.sp_rr && dut.v.lut_size != 0) n_rra <= n_rra + 1;
      if (dut.st == 11 && dut.sp == 2'd3 && dut.sp_rr && dut.v.lut_size != 0 && dut.pk_rr
          && !dut.rr_bad) n_rrh <= n_rrh + 1;
      if (dut.rr_ra == 2'd1 && dut.rr_bad) n_rrb <= n_rrb + 1;
      // a Maglev miss from S_M_W straight to S_POSTSCHED (18) with CT_REQ's
      // pre-schedule (not the pre-match's reads); pre-schedules done, and
      // dropped at a port CT_EXEC took
      // (and a hit on its own slot decided in S_M_W with the pre-schedule's
      // backend entry, no read of its own: the engine's ev_ps / ev_psh)
      n_ps <= n_ps + longint'(dut.ev_ps);
      if (dut.be_rvalid && dut.bss[1]) n_psd <= n_psd + 1;
      n_psh <= n_psh + longint'(dut.ev_psh);
      n_psx <= n_psx + longint'(dut.ps_lreq && !dut.psl_in) + longint'(dut.ps_breq && !dut.psb_in);
      if (dut.st >= 29 && dut.st <= 31) n_sc <= n_sc + 1;  // the scrubber
      // S_NAT_HASH with the return key's candidates hashed; S_NAT_W
      if (dut.st == 26 && dut.nr_have) n_nrh <= n_nrh + 1;
      if (dut.st == 27) n_nrw <= n_nrw + 1;
      if (dut.st == 0 && dut.q_cnt != 0 && !dut.pop) n_hw <= n_hw + 1;  // the head's data
      if (dut.n_clr != dut.q_cnt && !dut.clr_ok) n_hz <= n_hz + 1;  // hazard stall
      if (dut.iss_fire) n_iss <= n_iss + 1;
      if (dut.fw_wa || dut.fw_wb) n_fwd <= n_fwd + 1;  // a read replaced by a forwarded write
      // of them, from a posted unit: a read in before its write, a side it
      // held as the entry was cleared
      n_ufwd <= n_ufwd + longint'(dut.uf_arm[0]) + longint'(dut.uf_arm[1]);
      n_us <= n_us + longint'(dut.us_w[0]) + longint'(dut.us_w[1]);
      // of them, CT_EXEC's write of a return entry inserted in line
      n_ix <= n_ix + longint'(dut.ix_go[0]) + longint'(dut.ix_go[1]);
      if (dut.clr_ok && dut.fw_clr && (dut.lka || dut.lkb)) n_ulk <= n_ulk + 1;
      if (in_valid && in_ready && dut.in_need) n_need <= n_need + 2;
      // sides forwarded without a read (fw_nr): armed, given the source's
      // own data as it left CT_EXEC (no write of the bucket kept), read
      // after all
      n_nr <= n_nr + longint'(dut.nr_now[0]) + longint'(dut.nr_now[1]);
      n_take <= n_take + longint'($countones(dut.fw_take));
      // a slot taken as its source left CT_EXEC from S_WR (fw_lft), and the
      // heads taken as the packet's last write was (wr_pop)
      n_lft <= n_lft + longint'($countones(dut.fw_lft));
      n_wrpop <= n_wrpop + longint'(dut.wr_pop && dut.pop_x);
      // heads that entered with their pre-match (of them with its result
      // in), pre-matches dropped before their head entered
      n_pm <= n_pm + longint'(dut.pm_use);
      n_pmh <= n_pmh + longint'(dut.pm_use && dut.pm == dut.PM_HAVE);
      n_plx <= n_plx + longint'(dut.pm_use && dut.pm_lxi);  // its Maglev index too
      n_plu <= n_plu + longint'(dut.pm_use && dut.pm_lui);  // and its LUT entry's read
      n_pbe <= n_pbe + longint'(dut.pm_use && dut.pm_bei);  // and its backend entry's
      n_pmx <= n_pmx + longint'(!dut.pop && dut.pm != dut.PM_OFF && !dut.pm_keep);
      n_fb <= n_fb + longint'($countones(dut.fw_fb))
              + longint'($countones(dut.fw_on & dut.fw_nr & dut.fw_cancel));
      // a new NAT flow's return entry: posted (lbnic_ct_rmw), or in line
      // (S_NAT_HC, both candidates' hints full)
      if (dut.rm_cmd_valid && dut.st == 38) n_post <= n_post + 1;
      if (dut.st == 38 && !dut.rm_cmd_valid) n_inline <= n_inline + 1;
    end
  end
  // +ststat: clocks in each of CT_EXEC's states (by number, the engine's
  // state_e order), to see where a packet's clocks go
  longint st_clk[64];
  initial for (int i = 0; i < 64; i++) st_clk[i] = 0;
  always @(posedge clk) if (!rst && !done) st_clk[int'(dut.st)] <= st_clk[int'(dut.st)] + 1;
  final
    if ($test$plusargs("ststat"))
      for (int i = 0; i < 64; i++)
        if (st_clk[i] != 0) $display("%s: state %0d: %0d clocks", NAME, i, st_clk[i]);
  string need;
  // the posted path was taken (both targets have new NAT flows with a
  // free way), and its decisions and counters were checked above
  always @(posedge done) begin
    if (n_post == 0) $fatal(1, "%s: no NAT return entry was posted (lbnic_ct_rmw)", NAME);
    // and relocations were posted to it (both targets' tables fill up)
    if (n_t == 0) $fatal(1, "%s: no relocation was posted (lbnic_ct_rmw)", NAME);
    // and a side was forwarded without a read, with the source's own data
    // too (the flows' back-to-back packets), decisions checked above
    if (n_nr == 0 || n_take == 0) $fatal(1, "%s: no side forwarded without a read (%0d, %0d)", NAME, n_nr, n_take);
    // and heads entered with their lookup run ahead (the pre-match), and
    // some were dropped (a write of the head's bucket, or it went stale)
    if (n_pm == 0 || n_pmx == 0) $fatal(1, "%s: no pre-match taken (%0d) or dropped (%0d)", NAME, n_pm, n_pmx);
    if (n_rra == 0) $fatal(1, "%s: no RR / WRR miss took its LUT entry read during the match", NAME);
    // and Maglev misses took CT_REQ's pre-schedule
    if (n_ps == 0 || n_psh == 0) $fatal(1, "%s: no Maglev miss (%0d) or hit (%0d) took its pre-schedule", NAME, n_ps, n_psh);
    // and an entry took a unit's write through the unit slot (its side's
    // slot taken by another; the small target's run has 61)
    if (NAME == "small" && n_us == 0) $fatal(1, "%s: no entry took a unit's write through the unit slot", NAME);
    // and, where return entries go in line (the tiny target's run has
    // about 690 of them), an entry took CT_EXEC's write of one that way
    if (NAME == "tiny" && n_ix == 0) $fatal(1, "%s: no entry took CT_EXEC's in-line write through the unit slot", NAME);
    // and some took it read ahead with the pre-match
    if (n_rrh == 0) $fatal(1, "%s: no RR / WRR miss took its LUT entry read with the pre-match", NAME);
    // +need_lft=NAME: this target's run must take a slot as its source
    // leaves CT_EXEC from S_WR (rare: a seed that does, scripts/rtl-test.sh)
    if ($value$plusargs("need_lft=%s", need) && need == NAME && n_lft == 0)
      $fatal(1, "%s: no slot taken as its source left CT_EXEC (fw_lft)", NAME);
  end
  final
    $display("%s: clocks in CT_EXEC's own bucket reads %0d, relocations posted %0d (hashed with a unit busy %0d, clocks waiting for the units after a held bucket's hint %0d), scrubber %0d, waiting for the head's buckets %0d; hazard-table stall clocks %0d; queued packets' reads %0d (%0d re-reads), sides forwarded %0d (from a posted unit: a read in before its write %0d, through the unit slot %0d (of which CT_EXEC's in-line writes %0d), held at clearance %0d; without a read %0d, of which the source's own data %0d, read after all %0d); NAT return entries posted %0d, in line %0d (their key's candidates hashed by S_NAT_HASH %0d, clocks in S_NAT_W %0d); heads taken from S_WR %0d, slots taken as their source left %0d; heads taken with their pre-match %0d (its result in %0d; its Maglev index started too %0d, its LUT entry read %0d, its backend entry %0d), pre-matches dropped %0d; RR / WRR misses with their LUT entry read during the match %0d (with the pre-match %0d, read again as its pointer had moved %0d); Maglev misses scheduled by CT_REQ's pre-schedule %0d, hits decided with its backend entry %0d (pre-schedules done %0d, dropped at a port %0d)",
             NAME, n_exrd, n_t, n_rhb, n_rhw, n_sc, n_hw, n_hz, n_iss, n_iss - (n_need - n_nr), n_fwd, n_ufwd, n_us, n_ix, n_ulk,
             n_nr, n_take, n_fb, n_post, n_inline, n_nrh, n_nrw, n_wrpop, n_lft, n_pm, n_pmh, n_plx, n_plu, n_pbe, n_pmx, n_rra, n_rrh, n_rrb, n_ps, n_psh, n_psd, n_psx);

  // ---------------------------------------------------------------- checker
  int idle_clocks = 0;
  always @(posedge clk) begin
    idle_clocks <= (out_valid && out_ready) ? 0 : idle_clocks + 1;
    if (idle_clocks > 200000 && !done)
      $fatal(1, "%s: no decision for 200000 clocks after %0d (engine state %0d, in_valid %0d, swept %0d)",
             NAME, rcv, dut.st, in_valid, swept);
    if (out_valid && out_ready) begin
      pkt_t x;
      logic bad;
      x = pk[rcv];
      bad = out_decision != x.dec;
      if (x.dec.kind == lbnic_pipe_pkg::DECISION_FORWARD
          || x.dec.kind == lbnic_pipe_pkg::DECISION_REVERSE_NAT)
        bad = bad || out_vip != x.vip || out_backend != x.be;
      if (out_meta != x.meta) bad = 1'b1;
      if (bad) begin
        $display("%s: packet %0d (class %0d, now %0d, bank %0d, host %0d):", NAME, rcv,
                 x.meta.class_kind, x.meta.now, x.bank, x.host);
        $display("  decision kind %0d drop %0d slot %0d local %0d hash %08x, the model %0d %0d %0d %0d %08x",
                 out_decision.kind, out_decision.drop_counter, out_decision.slot,
                 out_decision.local_index, out_decision.hash, x.dec.kind, x.dec.drop_counter,
                 x.dec.slot, x.dec.local_index, x.dec.hash);
        $display("  vip %0s, backend %0s, meta %0s", out_vip == x.vip ? "equal" : "DIFFERS",
                 out_backend == x.be ? "equal" : "DIFFERS", out_meta == x.meta ? "equal" : "DIFFERS");
        $fatal(1, "%s: mismatch", NAME);
      end
      rcv <= rcv + 1;
      if (rcv % 2000 == 1999) $display("%s: %0d decisions equal", NAME, rcv + 1);
    end
  end
endmodule

module lbnic_ct_engine_tb;
  logic clk = 1'b0;
  logic rst = 1'b1;
  always #1 clk = ~clk;
  logic done_small, done_tiny;

  lbnic_ct_engine_run #(.NAME("small"), .WAYS(4), .BUCKET_BITS(10), .SEED(11)) u_small (
      .clk, .rst, .done(done_small));
  lbnic_ct_engine_run #(.NAME("tiny"), .WAYS(2), .BUCKET_BITS(4), .SEED(12)) u_tiny (
      .clk, .rst, .done(done_tiny));

  initial begin
    repeat (5) @(negedge clk);
    rst = 1'b0;
    while (!(done_small && done_tiny)) @(negedge clk);
    $display("PASS");
    $finish;
  end
endmodule
