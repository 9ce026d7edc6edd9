// End-to-end testbench of lbnic_top against the functional model
// (model-tests/examples/rtl_vectors_top.rs writes top.txt; see there for
// the records). Built against the package of examples/targets/small.toml
// (scripts/rtl-test.sh generates it into rtl/build/pkg_small/): lbnic_top
// at its defaults is that target.
//
// The host: AXI4-Lite and aperture accesses as recorded (bank image, STAGED,
// COMMIT, CONTROL), each after every frame before it has been taken by RX
// (so a mid-trace COMMIT falls between the same two packets as in the
// model). The MAC: frames back to back on RX, s_rx_tuser = their ingress
// ticks. TX: random back-pressure; every output frame is compared byte for
// byte, in order, with the model's, and m_tx_tuser with the index of the RX
// frame it came from. The conntrack memory: an array of buckets (zero at
// start), reads answered after a fixed latency (TARGET_CT_LATENCY_CYCLES)
// in order with their tag, at most TARGET_CT_MAX_OUTSTANDING in flight;
// writes applied as they are taken (before any later read). At `E`: wait
// for idle && swept, then the counters are read over AXI4-Lite and
// compared. PASS and exit 0, or $fatal with what differs.
`timescale 1ns / 1ps
module lbnic_top_tb;
  localparam int unsigned DB = lbnic_pkg::TARGET_DATAPATH_BYTES;
  localparam int unsigned WAYS = lbnic_pkg::TARGET_CT_WAYS;
  localparam int unsigned BBITS = lbnic_pkg::TARGET_CT_BUCKET_BITS;
  localparam int unsigned NBUCKETS = 1 << BBITS;
  localparam int unsigned CT_BITS = WAYS * lbnic_pkg::CT_WAY_BITS;
  localparam int unsigned LAT = lbnic_pkg::TARGET_CT_LATENCY_CYCLES;
  localparam int unsigned MAX_OUT = lbnic_pkg::TARGET_CT_MAX_OUTSTANDING;
  localparam int unsigned AAW = $clog2(2 * lbnic_pkg::MEM_BANK_LEN);
  localparam int unsigned TAGB = 8;
  localparam longint unsigned TIMEOUT = 64'd2_000_000;  // clocks

  logic clk = 0, rst = 1;
  always #5 clk = !clk;
  longint unsigned cycle = 0;
  always @(posedge clk) cycle <= cycle + 1;

  // ---- DUT ports
  logic s_rx_tvalid = 0, s_rx_tready, s_rx_tlast = 0;
  logic [8*DB-1:0] s_rx_tdata = '0;
  logic [DB-1:0] s_rx_tkeep = '0;
  logic [31:0] s_rx_tuser = '0;
  logic m_tx_tvalid, m_tx_tready = 0, m_tx_tlast;
  logic [8*DB-1:0] m_tx_tdata;
  logic [DB-1:0] m_tx_tkeep;
  logic [31:0] m_tx_tuser;
  logic [11:0] awaddr = 0, araddr = 0;
  logic awvalid = 0, wvalid = 0, bready = 0, arvalid = 0, rready = 0;
  logic awready, wready, bvalid, arready, rvalid;
  logic [31:0] wdata = 0, rdata;
  logic [1:0] bresp, rresp;
  logic ap_valid = 0, ap_ready, ap_write = 0, ap_rvalid, ap_rready = 1;
  logic [AAW-1:0] ap_addr = '0;
  logic [63:0] ap_wdata = '0, ap_rdata;
  logic ct_rd_valid, ct_rd_ready, ct_rsp_valid = 0, ct_wr_valid, ct_wr_ready;
  logic [TAGB-1:0] ct_rd_tag, ct_rsp_tag = '0;
  logic [BBITS-1:0] ct_rd_bucket, ct_wr_bucket;
  logic [CT_BITS-1:0] ct_rsp_data = '0, ct_wr_data;
  logic [WAYS-1:0] ct_wr_mask;
  logic idle, swept;
  // the stage probes: every packet CT_REQ takes becomes ready in CT_EXEC
  // and leaves it, once, and not before it was ready
  logic probe_ct_req, probe_ct_exec, probe_ct_bg;
  logic [1:0] probe_ct_ready;
  int unsigned n_ct_req = 0, n_ct_exec = 0, n_ct_ready = 0;
  always @(posedge clk) begin
    if (!rst) begin
      n_ct_req += 32'(probe_ct_req);
      n_ct_ready += 32'(probe_ct_ready);
      n_ct_exec += 32'(probe_ct_exec);
      if (n_ct_ready > n_ct_req) $fatal(1, "CT_EXEC readied a packet CT_REQ never took");
      if (n_ct_exec > n_ct_ready) $fatal(1, "CT_EXEC let out a decision not ready");
      // a read the probe calls background is never CT_REQ's (tag {1, ..})
      if (probe_ct_bg && ct_rd_valid && ct_rd_ready && ct_rd_tag[TAGB-1])
        $fatal(1, "probe_ct_bg on CT_REQ's read of bucket %0d", ct_rd_bucket);
    end
  end

  lbnic_top dut (
      .clk, .rst,
      .s_rx_tvalid, .s_rx_tready, .s_rx_tdata, .s_rx_tkeep, .s_rx_tlast, .s_rx_tuser,
      .m_tx_tvalid, .m_tx_tready, .m_tx_tdata, .m_tx_tkeep, .m_tx_tlast, .m_tx_tuser,
      .s_axil_awaddr(awaddr), .s_axil_awvalid(awvalid), .s_axil_awready(awready),
      .s_axil_wdata(wdata), .s_axil_wstrb(4'hf), .s_axil_wvalid(wvalid), .s_axil_wready(wready),
      .s_axil_bresp(bresp), .s_axil_bvalid(bvalid), .s_axil_bready(bready),
      .s_axil_araddr(araddr), .s_axil_arvalid(arvalid), .s_axil_arready(arready),
      .s_axil_rdata(rdata), .s_axil_rresp(rresp), .s_axil_rvalid(rvalid), .s_axil_rready(rready),
      .ap_valid, .ap_ready, .ap_write, .ap_addr, .ap_wdata, .ap_rvalid, .ap_rready, .ap_rdata,
      .ct_rd_valid, .ct_rd_ready, .ct_rd_tag, .ct_rd_bucket, .ct_rsp_valid, .ct_rsp_tag,
      .ct_rsp_data, .ct_wr_valid, .ct_wr_ready, .ct_wr_bucket, .ct_wr_mask, .ct_wr_data,
      .idle, .swept, .probe_ct_req, .probe_ct_exec, .probe_ct_ready,
      .probe_ct_bg
  );

  // ---- conntrack memory
  logic [CT_BITS-1:0] ctmem[NBUCKETS];
  logic [CT_BITS-1:0] rq_data[$];
  logic [TAGB-1:0] rq_tag[$];
  longint unsigned rq_due[$];
  int unsigned outstanding = 0;
  int unsigned ct_reads = 0, ct_writes = 0;
  initial for (int i = 0; i < NBUCKETS; i++) ctmem[i] = '0;
  assign ct_rd_ready = outstanding < MAX_OUT;
  assign ct_wr_ready = 1'b1;
  always @(posedge clk) begin
    if (!rst) begin
      // writes first: a read taken in the same clock sees them
      if (ct_wr_valid && ct_wr_ready) begin
        for (int w = 0; w < WAYS; w++)
          if (ct_wr_mask[w])
            ctmem[ct_wr_bucket][512*w+:512] = ct_wr_data[512*w+:512];
        ct_writes++;
      end
      if (ct_rsp_valid) outstanding--;
      if (ct_rd_valid && ct_rd_ready) begin
        rq_data.push_back(ctmem[ct_rd_bucket]);
        rq_tag.push_back(ct_rd_tag);
        rq_due.push_back(cycle + 64'(LAT));
        outstanding++;
        ct_reads++;
      end
    end
  end
  always @(negedge clk) begin
    ct_rsp_valid = 0;
    if (rq_due.size() > 0 && rq_due[0] <= cycle) begin
      ct_rsp_valid = 1;
      ct_rsp_tag = rq_tag.pop_front();
      ct_rsp_data = rq_data.pop_front();
      void'(rq_due.pop_front());
    end
  end

  // ---- the MAC: frames from the queue, back to back
  // frames as one byte queue and their lengths (Verilator 5.006 takes no
  // queue of dynamic arrays)
  byte unsigned rx_bytes[$];
  int unsigned rx_q[$];
  logic [31:0] rx_ts_q[$];
  int unsigned rx_sent = 0;
  logic rx_busy = 0;
  initial begin
    int unsigned len;
    logic [31:0] ts;
    int unsigned beats;
    @(negedge clk);
    while (rst) @(negedge clk);
    forever begin
      if (rx_q.size() == 0) begin
        @(negedge clk);
        continue;
      end
      rx_busy = 1;
      len = rx_q[0];
      ts = rx_ts_q[0];
      beats = (len + DB - 1) / DB;
      for (int b = 0; b < beats; b++) begin
        logic [8*DB-1:0] d;
        logic [DB-1:0] k;
        d = '0;
        k = '0;
        for (int i = 0; i < DB; i++) begin
          if (b * DB + i < len) begin
            d[8*i+:8] = rx_bytes.pop_front();
            k[i] = 1'b1;
          end
        end
        s_rx_tdata = d;
        s_rx_tkeep = k;
        s_rx_tlast = b == beats - 1;
        s_rx_tuser = ts;
        s_rx_tvalid = 1;
        do @(posedge clk); while (!s_rx_tready);
        @(negedge clk);
        s_rx_tvalid = 0;
      end
      void'(rx_q.pop_front());
      void'(rx_ts_q.pop_front());
      rx_sent++;
      rx_busy = 0;
    end
  end

  // ---- TX: random back-pressure, compare with the model's frames
  byte unsigned exp_bytes[$];
  int unsigned exp_q[$];
  int unsigned exp_idx_q[$];
  byte unsigned got[$];
  logic [31:0] got_user;
  int unsigned tx_frames = 0;
  always @(negedge clk) m_tx_tready = ($urandom_range(9) != 0);
  always @(posedge clk) begin
    if (!rst && m_tx_tvalid && m_tx_tready) begin
      if (got.size() == 0) got_user = m_tx_tuser;
      else if (m_tx_tuser != got_user) $fatal(1, "m_tx_tuser changed inside a frame: %0d -> %0d", got_user, m_tx_tuser);
      for (int i = 0; i < DB; i++) if (m_tx_tkeep[i]) got.push_back(m_tx_tdata[8*i+:8]);
      if (m_tx_tlast) begin
        int unsigned elen;
        if (exp_q.size() == 0) $fatal(1, "TX frame %0d (from RX frame %0d, %0d bytes) not expected", tx_frames, got_user, got.size());
        elen = exp_q.pop_front();
        if (got_user != exp_idx_q[0])
          $fatal(1, "TX frame %0d: from RX frame %0d, model: from RX frame %0d", tx_frames, got_user, exp_idx_q[0]);
        void'(exp_idx_q.pop_front());
        if (got.size() != elen)
          $fatal(1, "TX frame %0d (RX frame %0d): %0d bytes, model %0d", tx_frames, got_user, got.size(), elen);
        for (int i = 0; i < int'(elen); i++) begin
          byte unsigned x;
          x = exp_bytes.pop_front();
          if (got[i] != x)
            $fatal(1, "TX frame %0d (RX frame %0d): byte %0d is %02h, model %02h", tx_frames, got_user, i, got[i], x);
        end
        got.delete();
        tx_frames++;
      end
    end
  end

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

  // every frame before a host access has been taken by RX
  task automatic rx_drain();
    longint unsigned t0;
    t0 = cycle;
    while (rx_q.size() != 0 || rx_busy) begin
      @(negedge clk);
      if (cycle - t0 > TIMEOUT)
        $fatal(1, "RX took %0d of the frames in %0d clocks (%0d queued; %0d output frames seen)", rx_sent, TIMEOUT,
               rx_q.size(), tx_frames);
    end
  endtask

  // ---- the session
  int fd, n, lines = 0, reads = 0, frames = 0, outs = 0;
  string cmd, path;
  logic [63:0] a, b, c, d, e, f;
  logic [31:0] r, seq0;
  logic [63:0] w64;
  initial begin
    if (!$value$plusargs("vectors=%s", path)) path = "rtl/build/vectors";
    fd = $fopen({path, "/top.txt"}, "r");
    if (fd == 0) $fatal(1, "cannot open %s/top.txt", path);
    repeat (4) @(posedge clk);
    @(negedge clk) rst = 0;
    repeat (4) @(negedge clk);
    while ($fscanf(fd, "%s", cmd) == 1) begin
      lines++;
      case (cmd)
        "T": begin
          n = $fscanf(fd, "%h %h %h %h %h %h", a, b, c, d, e, f);
          if (a != 64'(DB) || b != 64'(lbnic_pkg::TARGET_MAX_VIPS) || c != 64'(lbnic_pkg::TARGET_MAX_BACKENDS)
              || d != 64'(lbnic_pkg::TARGET_LUT_ENTRIES) || e != lbnic_pkg::MEM_BANK_LEN || f != lbnic_pkg::TARGET_FINGERPRINT)
            $fatal(1, "top.txt is for another target than rtl/build/pkg_small: %h %h %h %h %h %h", a, b, c, d, e, f);
        end
        "W": begin
          n = $fscanf(fd, "%h %h", a, b);
          rx_drain();
          axi_write(a[11:0], b[31:0]);
        end
        "R": begin
          n = $fscanf(fd, "%h %h", a, b);
          rx_drain();
          axi_read(a[11:0], r);
          reads++;
          if (r != b[31:0]) $fatal(1, "line %0d: register 0x%03h read 0x%08h, model 0x%08h", lines, a[11:0], r, b[31:0]);
        end
        "B": begin
          n = $fscanf(fd, "%h %h", a, b);
          rx_drain();
          @(negedge clk);
          for (longint unsigned i = 0; i < b; i++) begin
            n = $fscanf(fd, "%h", w64);
            ap_wr(a + 8 * i, w64);
          end
        end
        "D": begin
          n = $fscanf(fd, "%h", a);
          rx_drain();
          axi_read(12'(lbnic_pkg::REG_COMMIT_SEQ), seq0);
          axi_write(12'(lbnic_pkg::REG_COMMIT), a[31:0]);
          r = seq0;
          for (int t = 0; t < 100000 && r == seq0; t++) axi_read(12'(lbnic_pkg::REG_COMMIT_SEQ), r);
          if (r == seq0) $fatal(1, "line %0d: COMMIT_SEQ did not move", lines);
        end
        "F": begin
          n = $fscanf(fd, "%h %h", a, b);
          for (int i = 0; i < int'(b); i++) begin
            n = $fscanf(fd, "%h", c);
            rx_bytes.push_back(c[7:0]);
          end
          rx_q.push_back(int'(b));
          rx_ts_q.push_back(a[31:0]);
          frames++;
        end
        "O": begin
          n = $fscanf(fd, "%h %h", a, b);
          for (int i = 0; i < int'(b); i++) begin
            n = $fscanf(fd, "%h", c);
            exp_bytes.push_back(c[7:0]);
          end
          exp_q.push_back(int'(b));
          exp_idx_q.push_back(int'(a));
          outs++;
        end
        "E": begin
          longint unsigned t0;
          rx_drain();
          t0 = cycle;
          repeat (8) @(negedge clk);
          while (!(idle && swept)) begin
            @(negedge clk);
            if (cycle - t0 > TIMEOUT)
              $fatal(1, "no idle && swept %0d clocks after the last frame (idle %0d swept %0d; %0d of %0d output frames seen)",
                     TIMEOUT, idle, swept, tx_frames, outs);
          end
          if (exp_q.size() != 0)
            $fatal(1, "idle, but %0d of the model's %0d output frames never left TX", exp_q.size(), outs);
          if (n_ct_req != n_ct_exec || n_ct_ready != n_ct_exec)
            $fatal(1, "idle, but CT_REQ took %0d packets, CT_EXEC readied %0d and let out %0d",
                   n_ct_req, n_ct_ready, n_ct_exec);
        end
        default: $fatal(1, "top.txt line %0d: unknown record %s", lines, cmd);
      endcase
    end
    $fclose(fd);
    $display("lbnic_top_tb: %0d frames in, %0d frames out byte for byte, %0d register reads (counters) equal to the model; conntrack %0d reads, %0d writes; %0d packets through CT_REQ and CT_EXEC; %0d clocks",
             frames, tx_frames, reads, ct_reads, ct_writes, n_ct_exec, cycle);
    $display("PASS");
    $finish;
  end
endmodule
