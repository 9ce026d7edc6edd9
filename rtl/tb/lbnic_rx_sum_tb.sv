// Testbench of lbnic_rx_sum: every frame of +vectors=DIR/parse_frames.vec
// (the parser's frames: VLAN/QinQ, IPv4/IPv6, truncations and 12,000
// mutations, from `cargo run -p hw-model-tests --example rtl_vectors_parse`)
// is sent as 64-byte beats with random gaps and random s_tready, the bytes
// past the frame random. Each frame's result must come LATENCY clocks after
// its last beat was taken, in order, one per frame; lo / hi / ok and the sum
// are compared with a byte-by-byte reference over the frame: the IP packet
// after up to two VLAN tags, [lo, hi) cut at the frame's end, summed as RFC
// 1071 (even offsets high). lo / hi are compared only when the frame holds
// the fields they come from (a shorter frame is a parse error anyway).
`timescale 1ns / 1ps
module lbnic_rx_sum_tb;
  localparam int unsigned DB = 64;
  localparam int unsigned MAXF = 16384;
  localparam int LATENCY = 7;

  logic clk = 1'b0;
  logic rst = 1'b1;
  always #5 clk = ~clk;

  logic            s_tvalid, s_tready, s_tlast;
  logic [8*DB-1:0] s_tdata;
  logic [DB-1:0]   s_tkeep;
  logic [15:0]     sum, lo, hi;
  logic            ok, res_valid;

  lbnic_rx_sum #(.DATA_BYTES(DB)) dut (.*);

  int fd_f;
  logic [7:0]  fb[MAXF];
  string       fhex, fname;
  logic [31:0] flen;
  int unsigned frames = 0, summed = 0;

  function automatic int next_frame();
    int n;
    n = $fscanf(fd_f, "%h %s\n", flen, fname);
    if (n != 2) return 0;
    if (flen > MAXF) $fatal(1, "frame '%s' longer than %0d", fname, MAXF);
    for (int unsigned b = 0; b < flen; b += 64) begin
      n = $fscanf(fd_f, "%s\n", fhex);
      if (n != 1) $fatal(1, "frame '%s': bad byte line", fname);
      for (int unsigned k = 0; k < 64 && b + k < flen; k++)
        fb[b+k] = 8'(fhex.substr(2 * k, 2 * k + 1).atohex());
    end
    return 1;
  endfunction

  function automatic logic [15:0] be16(input int unsigned at);
    return {fb[at], fb[at+1]};
  endfunction

  // the reference, from the whole frame
  logic [15:0] r_lo, r_hi, r_sum;
  logic        r_ok, r_fields;
  task automatic reference();
    logic [15:0] et;
    logic [31:0] acc;
    r_lo = 16'd14;
    et = flen >= 14 ? be16(12) : 16'd0;
    if (flen >= 18 && (et == 16'h8100 || et == 16'h88a8)) begin
      r_lo = 16'd18;
      et = be16(16);
      if (flen >= 22 && (et == 16'h8100 || et == 16'h88a8)) begin
        r_lo = 16'd22;
        et = be16(20);
      end
    end
    r_ok = et == 16'h0800 || et == 16'h86dd;
    r_fields = flen >= 32'(r_lo) + 6;
    r_hi = '0;
    if (r_fields && et == 16'h0800) r_hi = r_lo + be16(32'(r_lo) + 2);
    if (r_fields && et == 16'h86dd) r_hi = r_lo + 16'd40 + be16(32'(r_lo) + 4);
    acc = 0;
    for (int unsigned p = 32'(r_lo); p < 32'(r_hi) && p < flen; p++)
      acc += p[0] ? 32'(fb[p]) : {16'd0, fb[p], 8'd0};
    while (acc[31:16] != 0) acc = {16'd0, acc[15:0]} + {16'd0, acc[31:16]};
    r_sum = acc[15:0];
  endtask

  // Monitor, at each rising edge (inputs change on the falling one): a last
  // beat taken now queues its frame's reference; a result presented now
  // must be the oldest queued, due now.
  typedef struct {
    logic [15:0] lo, hi, sum;
    logic        ok, fields;
    int unsigned frame;
    int          due;
  } want_t;
  want_t want[$];
  int cycle = 0;
  always @(posedge clk) begin
    if (!rst && s_tvalid && s_tready && s_tlast) begin
      want_t n;
      n.lo = r_lo;
      n.hi = r_hi;
      n.sum = r_sum;
      n.ok = r_ok;
      n.fields = r_fields;
      n.frame = frames;
      n.due = cycle + LATENCY;
      want.push_back(n);
    end
    if (!rst && res_valid) begin
      want_t w;
      if (want.size() == 0) $fatal(1, "a result with no frame due");
      w = want.pop_front();
      if (cycle != w.due) $fatal(1, "frame %0d: result at cycle %0d, due at %0d", w.frame, cycle, w.due);
      if (w.fields && (ok != w.ok || lo != w.lo || (w.ok && hi != w.hi)))
        $fatal(1, "frame %0d: ok/lo/hi %b/%0d/%0d, expected %b/%0d/%0d", w.frame, ok, lo, hi, w.ok,
               w.lo, w.hi);
      if (w.fields && w.ok) begin
        if (sum != w.sum) $fatal(1, "frame %0d: sum %h, expected %h", w.frame, sum, w.sum);
        summed++;
      end
    end
    if (!rst && want.size() != 0 && cycle > want[0].due)
      $fatal(1, "frame %0d: no result at cycle %0d", want[0].frame, want[0].due);
    cycle++;
  end

  initial begin
    string dir;
    int unsigned off;
    if (!$value$plusargs("vectors=%s", dir)) dir = "rtl/build/vectors";
    fd_f = $fopen({dir, "/parse_frames.vec"}, "r");
    if (fd_f == 0) $fatal(1, "cannot open %s/parse_frames.vec", dir);
    s_tvalid = 1'b0;
    s_tready = 1'b1;
    s_tdata = '0;
    s_tkeep = '0;
    s_tlast = 1'b0;
    repeat (3) @(negedge clk);
    rst = 1'b0;
    while (next_frame() != 0) begin
      if (flen == 0) continue;
      reference();
      off = 0;
      while (off < flen) begin
        s_tvalid = 1'b0;
        while ($urandom % 4 == 0) @(negedge clk);
        s_tvalid = 1'b1;
        for (int k = 0; k < DB; k++) begin
          s_tkeep[k] = off + k < flen;
          s_tdata[8*k+:8] = off + k < flen ? fb[off+k] : 8'($urandom);
        end
        s_tlast = off + DB >= flen;
        s_tready = $urandom % 3 != 0;
        while (!s_tready) begin
          @(negedge clk);
          s_tready = $urandom % 3 != 0;
        end
        // taken at the next edge
        @(negedge clk);
        off += DB;
      end
      s_tvalid = 1'b0;
      frames++;
    end
    repeat (LATENCY + 2) @(negedge clk);
    if (want.size() != 0) $fatal(1, "%0d results missing", want.size());
    if (summed < 1000) $fatal(1, "only %0d frames summed", summed);
    $display("lbnic_rx_sum_tb: PASS (%0d frames, %0d IP packets summed)", frames, summed);
    $finish;
  end
endmodule
