// Testbench of lbnic_rewrite: every vector of <vectors>/rewrite.txt
// (model-tests/examples/rtl_vectors_rewrite.rs: the functional model's
// REWRITE input and output per packet) is driven through the module, the
// output frame compared byte for byte and the status field for field.
// Even packets run with random valid/ready gaps, odd ones without: then
// the output must leave one beat per clock and the module must take the
// next descriptor in the clock the packet's last beat goes.
// +flip=N flips a bit of packet N's expected output (shows it can fail).
`timescale 1ns / 1ps
module lbnic_rewrite_tb;
  localparam int unsigned DB = 64;
  localparam int unsigned MAXF = 16384;

  logic clk = 1'b0;
  always #1 clk = ~clk;
  logic rst;

  logic d_valid, d_ready;
  lbnic_pipe_pkg::decision_t d_decision;
  lbnic_pipe_pkg::parsed_t d_parsed;
  lbnic_pipe_pkg::meta_t d_meta;
  lbnic_pkg::vip_t d_vip;
  lbnic_pkg::backend_t d_backend;
  lbnic_pkg::global_t d_global;
  logic [15:0] d_l3_sum;
  logic [8*DB-1:0] s_tdata, m_tdata;
  logic [DB-1:0] s_tkeep, m_tkeep;
  logic s_tlast, s_tvalid, s_tready, m_tlast, m_tvalid, m_tready;
  logic st_valid, st_ready, st_forward;
  logic [2:0] st_kind;
  logic [7:0] st_drop_counter;
  logic [15:0] st_len, st_max;

  lbnic_rewrite #(.DATA_BYTES(DB)) dut (.*);

  lbnic_rewrite_vec_pkg::bytes_t frame, exp_out;
  logic [7:0] got[MAXF];

  string dir;
  int fd, npk, flip, nicmp, olen;
  lbnic_rewrite_vec_pkg::head_t h;
  logic [15:0] d_quote_ip_csum, d_quote_l4_csum;
  int counts[5];

  task automatic fail(string msg);
    $display("FAIL packet %0d (decision %0d slot %0d local %0d, status want %0d): %s",
             npk, h.dec.kind, h.dec.slot, h.dec.local_index, h.st_kind, msg);
    $fatal(1, "lbnic_rewrite mismatch");
  endtask

  task automatic show_diff(int at, int n);
    string s1, s2;
    s1 = ""; s2 = "";
    for (int i = (at > 8 ? at - 8 : 0); i < at + 8 && i < n; i++) begin
      if (i == at) begin
        s1 = {s1, $sformatf(" [%02x]", exp_out[i])};
        s2 = {s2, $sformatf(" [%02x]", got[i])};
      end else begin
        s1 = {s1, $sformatf(" %02x", exp_out[i])};
        s2 = {s2, $sformatf(" %02x", got[i])};
      end
    end
    $display("  first difference at byte %0d of %0d:\n  want %s\n  got  %s", at, n, s1, s2);
  endtask

  initial begin
    if (!$value$plusargs("vectors=%s", dir)) dir = "rtl/build/vectors";
    if (!$value$plusargs("flip=%d", flip)) flip = -1;
    fd = $fopen({dir, "/rewrite.txt"}, "r");
    if (fd == 0) $fatal(1, "cannot open %s/rewrite.txt", dir);
    rst = 1'b1;
    d_valid = 1'b0; s_tvalid = 1'b0; m_tready = 1'b0; st_ready = 1'b0;
    s_tdata = '0; s_tkeep = '0; s_tlast = 1'b0;
    d_decision = '0; d_parsed = '0; d_meta = '0; d_vip = '0; d_backend = '0; d_global = '0;
    d_l3_sum = '0;
    repeat (3) @(negedge clk);
    rst = 1'b0;
    npk = 0;
    nicmp = 0;
    forever begin
      int nbeats, bi, ngot, first_out, last_out, nout_beats;
      bit desc_done, st_done, out_done, calm, ev;
      if (!lbnic_rewrite_vec_pkg::read_head(fd, npk, h)) break;
      frame = lbnic_rewrite_vec_pkg::read_bytes(fd, int'(h.flen));
      olen = lbnic_rewrite_vec_pkg::read_len(fd);
      exp_out = lbnic_rewrite_vec_pkg::read_bytes(fd, olen);
      if (npk == flip && olen > 0) exp_out[olen/2] = exp_out[olen/2] ^ 8'h10;
      counts[h.st_kind] = counts[h.st_kind] + 1;
      if (h.st_kind == 0 && h.parsed.icmp_error_valid
          && (h.dec.kind == lbnic_pipe_pkg::DECISION_REVERSE_NAT || h.vip.mode == lbnic_pkg::MODE_NAT))
        nicmp++;

      d_decision = h.dec;
      d_parsed = h.parsed;
      d_quote_ip_csum = h.quote_ip_csum;
      d_quote_l4_csum = h.quote_l4_csum;
      d_meta = '0;
      d_meta.len = h.len;
      d_vip = h.vip;
      d_backend = h.be;
      d_global = h.glob;
      d_l3_sum = h.l3_sum;

      calm = npk % 2 == 1;
      nbeats = (int'(h.flen) + DB - 1) / DB;
      bi = 0; ngot = 0; first_out = -1; last_out = -1; nout_beats = 0;
      desc_done = 0; st_done = 0; out_done = olen == 0;
      for (int cyc = 0; !(desc_done && bi == nbeats && st_done && out_done); cyc++) begin
        @(negedge clk);
        if (cyc > 4 * MAXF) fail("timeout");
        d_valid = !desc_done;
        s_tvalid = bi < nbeats && (calm || $urandom % 4 != 0);
        s_tlast = bi == nbeats - 1;
        for (int j = 0; j < int'(DB); j++) begin
          s_tdata[8*j +: 8] = (bi * DB + j < int'(h.flen)) ? frame[bi*DB+j] : 8'hxx;
          s_tkeep[j] = bi * DB + j < int'(h.flen);
        end
        m_tready = calm || $urandom % 4 != 0;
        st_ready = calm || $urandom % 2 != 0;
        #0.5;
        if (d_valid && d_ready) desc_done = 1;
        ev = 0;
        if (s_tvalid && s_tready) begin
          bi++;
          ev = bi == nbeats;
        end
        if (m_tvalid && m_tready && m_tlast) ev = 1;
        if (m_tvalid && m_tready) begin
          if (out_done) fail("an output beat where none (more) is due");
          if (first_out < 0) first_out = cyc;
          last_out = cyc;
          nout_beats++;
          for (int j = 0; j < int'(DB); j++) begin
            if (j > 0 && m_tkeep[j] && !m_tkeep[j-1]) fail("tkeep not contiguous");
            if (m_tkeep[j]) begin
              if (ngot >= MAXF) fail("output too long");
              got[ngot] = m_tdata[8*j +: 8];
              ngot++;
            end
          end
          if (!m_tlast && m_tkeep != '1) fail("partial beat before tlast");
          if (m_tlast) begin
            out_done = 1;
            if (ngot != olen) begin
              show_diff(ngot < olen ? ngot : olen, ngot);
              fail($sformatf("output length %0d, want %0d", ngot, olen));
            end
            for (int i = 0; i < ngot; i++)
              if (got[i] !== exp_out[i]) begin
                show_diff(i, ngot);
                fail("output bytes differ");
              end
            if (calm && last_out - first_out + 1 != nout_beats)
              fail("output not one beat per clock");
          end
        end
        if (calm && ev && bi == nbeats && (out_done || (m_tvalid && m_tready && m_tlast))
            && !d_ready)
          fail("the next descriptor is not taken in the clock the packet ends");
        if (st_valid && st_ready) begin
          if (st_done) fail("second status");
          st_done = 1;
          if (st_kind != h.st_kind) fail($sformatf("status %0d, want %0d", st_kind, h.st_kind));
          if (h.st_kind == 2 && st_drop_counter != h.dec.drop_counter) fail("drop counter");
          if (h.st_kind == 3) begin
            if (st_len != h.st_len || st_max != h.st_max)
              fail($sformatf("too big len %0d max %0d, want %0d %0d", st_len, st_max, h.st_len,
                             h.st_max));
            if (st_forward != (h.dec.kind == lbnic_pipe_pkg::DECISION_FORWARD)) fail("st_forward");
          end
        end
      end
      npk++;
    end
    @(negedge clk);
    d_valid = 1'b0; s_tvalid = 1'b0;
    if (npk < 1000) $fatal(1, "only %0d vectors", npk);
    $display("lbnic_rewrite: %0d packets: tx %0d (NAT ICMP errors %0d) pass %0d drop %0d too_big %0d family %0d",
             npk, counts[0], nicmp, counts[1], counts[2], counts[3], counts[4]);
    $display("PASS");
    $finish;
  end
endmodule
