// Testbench of lbnic_axis_fifo, in two configurations at once: a small one
// (32-bit data, tkeep, tlast, a 3-bit tuser, DEPTH 8) and the pipeline's
// (512-bit beats, tkeep, tlast, DEPTH from lbnic_pkg). Each beat carries
// its sequence number. Phases: random valid and ready (each with its own
// duty cycle), then a stalled sink (the FIFO must take exactly DEPTH + 1
// beats and no more), then both sides always on (one beat per clock).
// Checked throughout: order, no loss, no duplicate, the AXI rule that a
// stalled output holds still, and that s_axis_tready only changes at the
// clock edge (it is registered: inputs change mid-cycle here). Prints
// PASS, or exits non-zero.
module lbnic_axis_fifo_tb;
  localparam int CONFIGS = 2;
  localparam int RANDOM_BEATS = 4000;

  logic clk = 1'b0;
  logic rst = 1'b1;
  always #2 clk = ~clk;

  int errors = 0;
  logic [CONFIGS-1:0] done = '0;

  for (genvar c = 0; c < CONFIGS; c++) begin : g_cfg
    localparam int DW = c == 0 ? 32 : 8 * lbnic_pkg::TARGET_DATAPATH_BYTES;
    localparam int KW = DW / 8;
    localparam int UW = 3;
    localparam int DEPTH = c == 0 ? 8 : lbnic_pkg::TARGET_FIFO_DEPTH;
    localparam bit USER = c == 0;

    logic [DW-1:0] s_tdata = '0, m_tdata;
    logic [KW-1:0] s_tkeep = '0, m_tkeep;
    logic [UW-1:0] s_tuser = '0, m_tuser;
    logic s_tvalid = 1'b0, s_tready, s_tlast = 1'b0;
    logic m_tvalid, m_tready = 1'b0, m_tlast;

    lbnic_axis_fifo #(
        .DEPTH(DEPTH), .DATA_WIDTH(DW), .KEEP_ENABLE(1'b1), .KEEP_WIDTH(KW),
        .LAST_ENABLE(1'b1), .USER_ENABLE(USER), .USER_WIDTH(UW)
    ) dut (
        .clk, .rst,
        .s_axis_tdata(s_tdata), .s_axis_tkeep(s_tkeep), .s_axis_tvalid(s_tvalid),
        .s_axis_tready(s_tready), .s_axis_tlast(s_tlast), .s_axis_tuser(s_tuser),
        .m_axis_tdata(m_tdata), .m_axis_tkeep(m_tkeep), .m_axis_tvalid(m_tvalid),
        .m_axis_tready(m_tready), .m_axis_tlast(m_tlast), .m_axis_tuser(m_tuser)
    );

    // A beat is a function of its sequence number, so the sink can check
    // every field of it.
    function automatic logic [DW-1:0] data_of(int seq);
      logic [DW-1:0] d;
      for (int i = 0; i < DW / 32; i++) d[32*i +: 32] = 32'(seq) * 32'h9e3779b1 + 32'(i);
      d[31:0] = 32'(seq);
      return d;
    endfunction

    int sent = 0;      // beats accepted by the FIFO
    int received = 0;  // beats taken from it
    int cycle = 0;
    logic held_valid = 1'b0;
    logic [DW-1:0] held_data;
    logic ready_at_edge;

    always @(posedge clk) begin
      if (!rst) begin
        if (s_tvalid && s_tready) sent++;
        if (held_valid && !(m_tvalid && m_tdata == held_data)) begin
          $display("FAIL[%0d]: a stalled output changed at cycle %0d", c, cycle);
          errors++;
        end
        held_valid <= m_tvalid && !m_tready;
        held_data <= m_tdata;
        if (m_tvalid && m_tready) begin
          automatic logic [DW-1:0] want = data_of(received);
          if (m_tdata != want || m_tkeep != KW'(received * 7) || m_tlast != received[0]
              || m_tuser != (USER ? UW'(received) : '0)) begin
            $display("FAIL[%0d]: beat %0d at cycle %0d: got seq %0d", c, received, cycle, m_tdata[31:0]);
            errors++;
          end
          received++;
        end
      end
      cycle++;
    end

    // registered ready: sampled just after the edge, compared just base
    // the next one (all inputs change on the falling edge in between)
    always @(posedge clk) begin
      #0.5 ready_at_edge = s_tready;
      #3 if (!rst && s_tready !== ready_at_edge) begin
        $display("FAIL[%0d]: s_axis_tready changed between clock edges at cycle %0d", c, cycle);
        errors++;
      end
    end

    task automatic offer(int seq, bit valid);
      s_tvalid = valid;
      s_tdata = data_of(seq);
      s_tkeep = KW'(seq * 7);
      s_tlast = seq[0];
      s_tuser = UW'(seq);
    endtask

    // source: offers beat `sent` whenever it chooses to be valid
    int src_pct = 50;
    int snk_pct = 50;
    bit src_on = 1'b0;
    // (a valid beat stays until taken, as AXI-Stream requires)
    logic took = 1'b0;
    always @(posedge clk) took <= s_tvalid && s_tready;
    always @(negedge clk) begin
      if (!rst) begin
        if (!s_tvalid || took) offer(sent, src_on && $urandom_range(99) < src_pct);
        m_tready = $urandom_range(99) < snk_pct;
      end
    end

    initial begin
      @(negedge clk);
      wait (!rst);
      // random phase: several duty-cycle pairs
      src_on = 1'b1;
      for (int phase = 0; phase < 8; phase++) begin
        src_pct = 10 + 12 * phase;
        snk_pct = 95 - 12 * phase;
        while (sent < (phase + 1) * RANDOM_BEATS / 8) @(negedge clk);
      end
      src_on = 1'b0;
      snk_pct = 100;
      while (received != sent) @(negedge clk);

      // stalled sink: exactly DEPTH + 1 beats go in
      begin
        automatic int base = sent;
        snk_pct = 0;
        src_pct = 100;
        src_on = 1'b1;
        repeat (DEPTH + 20) @(negedge clk);
        if (sent - base != DEPTH + 1) begin
          $display("FAIL[%0d]: a stalled FIFO took %0d beats, want DEPTH + 1 = %0d", c, sent - base, DEPTH + 1);
          errors++;
        end
      end
      // both sides on: one beat per clock once it has drained
      snk_pct = 100;
      repeat (DEPTH + 4) @(negedge clk);
      begin
        automatic int base = received;
        repeat (200) @(negedge clk);
        if (received - base != 200) begin
          $display("FAIL[%0d]: %0d beats in 200 clocks, want 200", c, received - base);
          errors++;
        end
      end
      src_on = 1'b0;
      repeat (DEPTH + 4) @(negedge clk);
      if (received != sent) begin
        $display("FAIL[%0d]: %0d beats in, %0d out", c, sent, received);
        errors++;
      end
      $display("lbnic_axis_fifo[%0d] DATA_WIDTH %0d DEPTH %0d: %0d beats", c, DW, DEPTH, received);
      done[c] = 1'b1;
    end
  end

  // a FIFO that loses beats must fail, not hang
  initial begin
    #2ms;
    $fatal(1, "lbnic_axis_fifo: timeout (%0d errors before it)", errors);
  end

  initial begin
    repeat (4) @(negedge clk);
    rst = 1'b0;
    wait (&done);
    if (errors != 0) $fatal(1, "lbnic_axis_fifo: %0d errors", errors);
    $display("lbnic_axis_fifo: PASS");
    $finish;
  end
endmodule
