// Testbench of lbnic_hdr_capture: every non-empty frame of
// +vectors=DIR/parse_frames.vec (the parser's frames, from
// `cargo run -p hw-model-tests --example rtl_vectors_parse`) is sent as
// 64-byte beats with random gaps, under random back-pressure on both
// outputs. Checks: the beats leave on m_* unchanged and in order (and in the
// same clock, the path being combinational); each frame's descriptor equals
// the window and length the Rust side wrote into DIR/parse.vec for it; a
// first run streams the first frames with no gaps nor back-pressure and
// checks one beat per clock.
`timescale 1ns / 1ps
module lbnic_hdr_capture_tb;
  localparam int unsigned DB = 64;
  localparam int unsigned W = lbnic_pkg::PARSE_WINDOW;
  localparam int unsigned MAXF = 16384;
  localparam int unsigned FULL_SPEED = 300;

  logic clk = 1'b0;
  logic rst = 1'b1;
  always #5 clk = ~clk;

  logic                s_tvalid, s_tready, s_tlast;
  logic [8*DB-1:0]     s_tdata;
  logic [DB-1:0]       s_tkeep;
  logic                m_tvalid, m_tready, m_tlast;
  logic [8*DB-1:0]     m_tdata;
  logic [DB-1:0]       m_tkeep;
  logic                hdr_valid, hdr_ready;
  logic [8*W-1:0]      hdr_window;
  logic [15:0]         hdr_len;

  lbnic_hdr_capture #(.DATA_BYTES(DB), .W(W)) dut (.*);

  int fd_f, fd_p;
  logic [8*W-1:0] exp_win[$];
  logic [15:0]    exp_len[$];
  string          exp_name[$];
  int unsigned frames_in = 0, frames_out = 0, beats = 0;
  bit full_speed = 1'b1;

  // Next vector pair; returns 0 at the end.
  logic [7:0]        fb[MAXF];
  string             fhex;
  logic [31:0]       flen;
  string             fname;
  function automatic int next_frame();
    int n, m;
    logic [31:0] len, x;
    logic [8*W-1:0] win;
    string name, rest;
    forever begin
      n = $fscanf(fd_f, "%h %s\n", flen, fname);
      if (n != 2) return 0;
      if (flen > MAXF) $fatal(1, "frame '%s' longer than %0d", fname, MAXF);
      for (int unsigned b = 0; b < flen; b += 64) begin
        n = $fscanf(fd_f, "%s\n", fhex);
        if (n != 1 || fhex.len() != 2 * int'((flen - b) < 64 ? (flen - b) : 64))
          $fatal(1, "frame '%s': bad byte line", fname);
        for (int unsigned k = 0; k < 64 && b + k < flen; k++)
          fb[b+k] = 8'(fhex.substr(2 * k, 2 * k + 1).atohex());
      end
      m = $fgets(rest, fd_p);
      if (m == 0) $fatal(1, "parse.vec shorter than parse_frames.vec");
      m = $sscanf(rest, "%h %h", len, win);
      if (m != 2 || len != flen) $fatal(1, "vector files out of step at '%s'", fname);
      if (flen == 0) continue;
      exp_win.push_back(win);
      exp_len.push_back(len[15:0]);
      exp_name.push_back(fname);
      return 1;
    end
  endfunction

  function automatic logic [7:0] fbyte(input int unsigned k);
    return fb[k];
  endfunction

  // Beats sent, to compare with m_*.
  logic [8*DB-1:0] sent_data[$];
  logic [DB-1:0]   sent_keep[$];
  logic            sent_last[$];

  always @(posedge clk) begin
    if (!rst) begin
      if (m_tvalid && m_tready) begin
        if (!(s_tvalid && s_tready)) $fatal(1, "m_* beat without an s_* beat");
        if (m_tdata != s_tdata || m_tkeep != s_tkeep || m_tlast != s_tlast)
          $fatal(1, "beat changed on its way to m_*");
        beats <= beats + 1;
      end else if (s_tvalid && s_tready) $fatal(1, "s_* beat accepted but not passed on");
      if (hdr_valid && hdr_ready) begin
        if (frames_out >= exp_len.size()) $fatal(1, "descriptor without a frame");
        if (hdr_len != exp_len[frames_out])
          $fatal(1, "frame %0d '%s': length %0d, expected %0d", frames_out, exp_name[frames_out],
                 hdr_len, exp_len[frames_out]);
        if (hdr_window != exp_win[frames_out]) begin
          for (int k = 0; k < W; k++)
            if (hdr_window[8*k+:8] != exp_win[frames_out][8*k+:8])
              $fatal(1, "frame %0d '%s': window byte %0d is %h, expected %h", frames_out,
                     exp_name[frames_out], k, hdr_window[8*k+:8], exp_win[frames_out][8*k+:8]);
        end
        frames_out <= frames_out + 1;
      end
      if (full_speed && s_tvalid && !s_tready) $fatal(1, "stall at full speed");
    end
  end

  initial begin
    string dir;
    int unsigned off;
    if (!$value$plusargs("vectors=%s", dir)) dir = "rtl/build/vectors";
    fd_f = $fopen({dir, "/parse_frames.vec"}, "r");
    fd_p = $fopen({dir, "/parse.vec"}, "r");
    if (fd_f == 0 || fd_p == 0) $fatal(1, "cannot open the vectors in %s", dir);
    s_tvalid = 1'b0;
    s_tdata = '0;
    s_tkeep = '0;
    s_tlast = 1'b0;
    m_tready = 1'b1;
    hdr_ready = 1'b1;
    repeat (3) @(negedge clk);
    rst = 1'b0;
    while (next_frame() != 0) begin
      if (frames_in == FULL_SPEED) full_speed = 1'b0;
      off = 0;
      while (off < flen) begin
        // present a beat (maybe after a gap), hold it until taken
        if (!full_speed) begin
          s_tvalid = 1'b0;
          while ($urandom % 4 == 0) begin
            m_tready = $urandom % 3 != 0;
            hdr_ready = $urandom % 3 != 0;
            @(negedge clk);
          end
        end
        s_tvalid = 1'b1;
        for (int k = 0; k < DB; k++) begin
          s_tkeep[k] = off + k < flen;
          s_tdata[8*k+:8] = off + k < flen ? fbyte(off + k) : 8'($urandom);
        end
        s_tlast = off + DB >= flen;
        if (!full_speed) begin
          m_tready = $urandom % 3 != 0;
          hdr_ready = $urandom % 3 != 0;
        end
        @(posedge clk);
        while (!s_tready) begin
          @(negedge clk);
          if (!full_speed) begin
            m_tready = $urandom % 3 != 0;
            hdr_ready = $urandom % 3 != 0;
          end
          @(posedge clk);
        end
        @(negedge clk);
        off += DB;
      end
      frames_in++;
      if (full_speed) s_tvalid = 1'b1;
    end
    s_tvalid = 1'b0;
    m_tready = 1'b1;
    hdr_ready = 1'b1;
    repeat (5) @(negedge clk);
    if (frames_out != frames_in)
      $fatal(1, "%0d frames in, %0d descriptors out", frames_in, frames_out);
    $display("lbnic_hdr_capture_tb: %0d frames, %0d beats, windows and lengths match the Rust vectors",
             frames_out, beats);
    $display("PASS");
    $finish;
  end
endmodule
