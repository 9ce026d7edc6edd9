// Testbench of lbnic_icmp_too_big (with its lbnic_icmp_rate): packets too
// big for max_frame, from icmp_too_big.txt (model-tests/examples/
// rtl_vectors_icmp.rs, computed by hw_model::pipeline::too_big; format
// there). For each packet the descriptor is offered, every frame read the
// module asks for is served from byte 0 (random gaps), the answer is taken
// with random back-pressure, and the result (reason, icmp_too_big_sent,
// icmp_rate_limited) and the answer are compared byte for byte with the
// model's; the first differing byte is reported with its neighbours.
// -GB=<bytes> checks another datapath width (the default target's by default).
module lbnic_icmp_too_big_tb #(
    parameter int B = lbnic_pkg::TARGET_DATAPATH_BYTES
);
  logic clk = 0, rst = 1, clear = 0;
  always #5 clk = ~clk;

  logic d_valid = 0, d_ready, d_forward = 0;
  lbnic_pipe_pkg::parsed_t d_parsed = '0;
  logic [16:0] d_len = 0;
  logic [15:0] d_max = 0, d_max_frame = 0;
  logic [47:0] d_device_mac = 0;
  logic [31:0] d_now = 0, d_icmp_rate = 0, d_icmp_burst = 0;
  logic rd_valid, rd_ready = 1;
  logic [8*B-1:0] s_tdata = 0, m_tdata;
  logic [B-1:0] s_tkeep = 0, m_tkeep;
  logic s_tlast = 0, s_tvalid = 0, s_tready, m_tlast, m_tvalid, m_tready = 0;
  logic r_valid, r_ready = 1, r_sent, r_rate_limited;
  logic [2:0] r_reason;

  lbnic_icmp_too_big #(.DATA_BYTES(B)) dut (.*);

  logic [7:0] frame[0:4095];
  logic [7:0] want[0:4095];
  logic [7:0] got[0:4095];
  int flen = 0, wlen = 0, glen = 0, reads = 0;
  bit answer_done = 0;

  // Frame server: rd_valid starts a read of the whole frame from byte 0.
  bit serving = 0;
  int pos = 0;
  always @(posedge clk) begin
    if (rd_valid && rd_ready) begin
      if (serving) $fatal(1, "FAIL: a frame read requested during another");
      serving <= 1;
      pos <= 0;
      reads <= reads + 1;
    end
    if (s_tvalid && s_tready) begin
      pos <= pos + B;
      if (s_tlast) serving <= 0;
    end
  end
  always @(negedge clk) begin
    s_tvalid = serving && ($urandom % 4 != 0);
    s_tlast = pos + B >= flen;
    for (int j = 0; j < B; j++) begin
      s_tdata[8*j +: 8] = (pos + j < flen) ? frame[pos + j] : 8'hxx;
      s_tkeep[j] = pos + j < flen;
    end
    m_tready = ($urandom % 5) != 0;
  end

  // The bucket's take must never wait (the refill is prepared with the
  // descriptor and ready before pass 1 can end): the unit's cycles are
  // those of a one-clock bucket. take_min: the fewest clocks from a
  // descriptor to its take seen (4 is the unit's least, pass 1 of 1 beat).
  int since_d = 0, take_min = 1000, take_at_min = 0;
  always @(posedge clk) begin
    if (d_valid && d_ready) since_d <= 1;
    else since_d <= since_d + 1;
    if (!rst && dut.rq_valid) begin
      if (!dut.rq_ready) $fatal(1, "FAIL: the token take waits (%0d clocks after the descriptor)", since_d);
      if (since_d < take_min) begin
        take_min = since_d;
        take_at_min = 0;
      end
      if (since_d == take_min) take_at_min++;
    end
  end

  // Nor may pass 2 wait for the quote's sum (lbnic_csum_pipe, 4 clocks
  // after pass 1's last beat): the decision and the take come between.
  always @(posedge clk) begin
    if (!rst && dut.q_wait)
      $fatal(1, "FAIL: pass 2 waits for the quote's sum");
  end

  // Answer collector.
  always @(posedge clk) begin
    if (m_tvalid && m_tready) begin
      if (answer_done) $fatal(1, "FAIL: beat after the answer's tlast");
      for (int j = 0; j < B; j++) begin
        if (m_tkeep[j]) begin
          if (j > 0 && !m_tkeep[j - 1]) $fatal(1, "FAIL: tkeep not contiguous");
          got[glen] = m_tdata[8*j +: 8];
          glen++;
        end
      end
      if (!m_tlast && m_tkeep != '1) $fatal(1, "FAIL: partial beat before tlast");
      if (m_tlast) answer_done = 1;
    end
  end

  function automatic logic [127:0] rev16(input logic [127:0] h);
    for (int k = 0; k < 16; k++) rev16[8*k +: 8] = h[8*(15-k) +: 8];
  endfunction
  function automatic logic [47:0] rev6(input logic [47:0] h);
    for (int k = 0; k < 6; k++) rev6[8*k +: 8] = h[8*(5-k) +: 8];
  endfunction

  task automatic show(input int at);
    string s = "";
    for (int k = (at > 8 ? at - 8 : 0); k < at + 8; k++) begin
      s = {s, $sformatf(" %s%02x/%02x", k == at ? "*" : "", k < wlen ? want[k] : 8'h0,
                        k < glen ? got[k] : 8'h0)};
    end
    $display("  bytes %0d.. (model/rtl):%s", at > 8 ? at - 8 : 0, s);
  endtask

  initial begin
    string path, tok;
    int fd, code, n = 0, n_sent = 0, n_lim = 0, n_reset = 0, cycles;
    int unsigned fwd, now, rate, burst, len, max, maxf, l2, l3, v6, frag, ierr;
    int unsigned reason, sent, lim, b;
    logic [47:0] smac, dmac;
    logic [127:0] src, dst;
    int reason_n[7] = '{default: 0};
    if (!$value$plusargs("vectors=%s", path)) path = "rtl/build/vectors";
    fd = $fopen({path, "/icmp_too_big.txt"}, "r");
    if (fd == 0) $fatal(1, "FAIL: no %s/icmp_too_big.txt", path);
    repeat (3) @(negedge clk);
    rst = 0;
    while (!$feof(fd)) begin
      code = $fscanf(fd, "%s", tok);
      if (code != 1) break;
      if (tok == "R") begin
        clear = 1;
        @(negedge clk);
        clear = 0;
        n_reset++;
        continue;
      end
      code = $fscanf(fd, "%h %h %h %h %h %h %h %h %h %h %h %h", fwd, now, rate, burst, len, max,
                     maxf, l2, l3, v6, frag, ierr);
      code += $fscanf(fd, "%h %h %h %h %h", smac, dmac, src, dst, flen);
      if (code != 17 || flen > 4096) $fatal(1, "FAIL: bad vector %0d", n);
      for (int k = 0; k < flen; k++) begin
        code = $fscanf(fd, "%h", b);
        frame[k] = b[7:0];
      end
      code = $fscanf(fd, "%h %h %h %h", reason, sent, lim, wlen);
      for (int k = 0; k < wlen; k++) begin
        code = $fscanf(fd, "%h", b);
        want[k] = b[7:0];
      end
      // The descriptor (fields the stage reads; l3_offset = l2_len).
      d_parsed = '0;
      d_parsed.src_mac = rev6(smac);
      d_parsed.l2_len = 14'(l2);
      d_parsed.l3_offset = 14'(l2);
      d_parsed.ipv6 = v6[0];
      d_parsed.src = rev16(src);
      d_parsed.dst = rev16(dst);
      d_parsed.l3_len = 16'(l3);
      d_parsed.frag = lbnic_pipe_pkg::frag_e'(frag[1:0]);
      d_parsed.icmp_error_valid = ierr[0];
      d_forward = fwd[0];
      d_len = 17'(len);
      d_max = 16'(max);
      d_max_frame = 16'(maxf);
      d_device_mac = rev6(dmac);
      d_now = now;
      d_icmp_rate = rate;
      d_icmp_burst = burst;
      glen = 0;
      reads = 0;
      answer_done = 0;
      while (($urandom % 4) == 0) @(negedge clk);
      d_valid = 1;
      @(posedge clk);
      while (!d_ready) @(posedge clk);
      @(negedge clk);
      d_valid = 0;
      cycles = 0;
      while (1) begin
        @(posedge clk);
        if (r_valid && r_ready) break;
        if (++cycles > 100000) $fatal(1, "FAIL: packet %0d: no result", n);
      end
      if (r_reason !== 3'(reason) || r_sent !== sent[0] || r_rate_limited !== lim[0])
        $fatal(1, "FAIL: packet %0d: reason %0d sent %0b rate_limited %0b, model: %0d %0d %0d",
               n, r_reason, r_sent, r_rate_limited, reason, sent, lim);
      if (sent != 0 && !answer_done) $fatal(1, "FAIL: packet %0d: result before the answer's tlast", n);
      if (glen != wlen) begin
        $display("FAIL: packet %0d: answer of %0d bytes, model %0d", n, glen, wlen);
        show(glen < wlen ? glen : wlen);
        $fatal(1, "FAIL");
      end
      for (int k = 0; k < wlen; k++) begin
        if (got[k] !== want[k]) begin
          $display("FAIL: packet %0d (ipv6 %0d, l2 %0d, l3_len %0d, max_frame %0d): answer byte %0d is %02x, model %02x",
                   n, v6, l2, l3, maxf, k, got[k], want[k]);
          show(k);
          $fatal(1, "FAIL");
        end
      end
      n++;
      n_sent += sent;
      n_lim += lim;
      reason_n[reason]++;
      @(negedge clk);
    end
    if (n == 0) $fatal(1, "FAIL: no vectors");
    $display("PASS lbnic_icmp_too_big (%0d-byte beats): %0d too-big packets, %0d answers equal byte for byte, %0d rate-limited, %0d resets; by reason 0..6: %0d %0d %0d %0d %0d %0d %0d; token takes %0d+ clocks after the descriptor (%0d at %0d), none waited",
             B, n, n_sent, n_lim, n_reset, reason_n[0], reason_n[1], reason_n[2], reason_n[3],
             reason_n[4], reason_n[5], reason_n[6], take_min, take_at_min, take_min);
    $finish;
  end
endmodule
