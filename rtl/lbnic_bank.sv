// The two banks (docs/spec.md §2, §4): GLOBAL, VIP, BACKEND and LUT of
// bank 0 and bank 1, laid out by the §2 rule (sections on SECTION_ALIGN
// boundaries) for the target parameters; the defaults are the package's
// target, whose layout is lbnic_pkg::MEM_*.
//
// Storage: GLOBAL and the VIP table in flip-flops (FRONT's CAM compares all
// VIPs at once); BACKEND as four lbnic_ram lanes of 64-bit words
// (MAX_BACKENDS deep, one 32-byte entry per address) and LUT as two
// lbnic_ram of 64-bit words (even and odd words, so an entry straddling
// two words is read in one clock). On an UltraScale+ part (spec §1.1,
// §13 "Synthesis") the LUT is URAM and BACKEND block RAM: at the default
// target both in URAM would take 1024 URAM288 at 64-bit words (920 as
// Yosys packs them), of the 960 of a U280 / U55C; the LUT alone takes 896
// (800 in Yosys), BACKEND 1024 of the 2016 RAMB36.
// Bytes between sections (alignment padding) are not stored: writes to
// them are ignored and they read as zero (an image's padding is zero).
//
// Host aperture port (the BAR aperture's bank part, byte offsets from the
// aperture, 64-bit words, offset[2:0] ignored): ap_valid/ap_ready, ap_write
// with ap_wdata; a read answers on ap_rvalid/ap_rready four clocks later
// at the earliest; one read outstanding. Writes store exactly the word
// written, two clocks after they are taken: a request is registered with
// its bank, word, section and offsets decoded (from the port, 13 LUT
// levels through lbnic_top), then chosen against the scan's and
// registered again in front of the tables (below). The port is stalled
// (ap_ready low) while lbnic_commit scans and in the clock of its doorbell
// (scan_start), so a registered request never meets the scan.
//
// Scan port (lbnic_commit): scan_en reads word scan_word of bank
// scan_bank; scan_rdata is valid on scan_rvalid three clocks later. The
// scan has priority over the host port. A scan reads words 0, 1, 2, ...
// one a clock for as long as scan_en is high (a simulation stops on
// anything else), so the bank decodes a scan word's section a clock
// ahead.
//
// Pipeline read ports, fixed latency, one request per clock, never stall:
//   active_global / active_vips: the GLOBAL entry and the VIP table of
//     bank `active_bank` (a 2:1 mux of registers, selected by the
//     registered active_bank of lbnic_commit), VIP slot i at bits
//     [512i+511:512i] as lbnic_pkg::vip_t; active_nat: a valid slot of it
//     is in mode NAT (FRONT's has_nat), from a flag per slot kept here.
//   be_*: BACKEND entry be_index of bank be_bank (the packet's bank):
//     be_rdata (lbnic_pkg::backend_t) on be_rvalid 2 clocks after be_valid.
//   lut_*: LUT entry lut_index of bank lut_bank: lut_rdata 2 clocks after.
module lbnic_bank #(
    parameter int unsigned MAX_VIPS = lbnic_pkg::TARGET_MAX_VIPS,
    parameter int unsigned MAX_BACKENDS = lbnic_pkg::TARGET_MAX_BACKENDS,
    parameter int unsigned LUT_ENTRIES = lbnic_pkg::TARGET_LUT_ENTRIES,
    parameter int unsigned LUT_ENTRY_BITS = lbnic_pkg::TARGET_LUT_ENTRY_BITS,
    localparam logic [63:0] AL = 64'(lbnic_pkg::SECTION_ALIGN),
    localparam logic [63:0] VIP_BASE = (64'(lbnic_pkg::GLOBAL_LEN) + AL - 1) / AL * AL,
    localparam logic [63:0] BE_BASE =
        (VIP_BASE + 64'(MAX_VIPS) * lbnic_pkg::VIP_LEN + AL - 1) / AL * AL,
    localparam logic [63:0] LUT_BASE =
        (BE_BASE + 64'(MAX_BACKENDS) * lbnic_pkg::BACKEND_LEN + AL - 1) / AL * AL,
    localparam logic [63:0] LUT_BYTES = (64'(LUT_ENTRIES) * LUT_ENTRY_BITS + 7) / 8,
    localparam logic [63:0] BANK_LEN = (LUT_BASE + LUT_BYTES + AL - 1) / AL * AL,
    localparam int unsigned BANK_WORDS = 32'(BANK_LEN / 8),
    localparam int unsigned WAW = $clog2(BANK_WORDS),       // word index in a bank
    localparam int unsigned AAW = $clog2(2 * BANK_LEN),     // aperture byte offset
    localparam int unsigned GW = lbnic_pkg::GLOBAL_LEN / 8,  // GLOBAL words
    localparam int unsigned VW = MAX_VIPS * 8,               // VIP words
    localparam int unsigned LUT_WORDS = 32'((LUT_BYTES + 7) / 8),
    localparam int unsigned LUT_HALF = (LUT_WORDS + 1) / 2,
    localparam int unsigned BIW = $clog2(MAX_BACKENDS),
    localparam int unsigned LIW = $clog2(LUT_ENTRIES),
    localparam int unsigned LHW = $clog2(LUT_HALF)
) (
    input  logic                        clk,
    input  logic                        rst,
    // host aperture port
    input  logic                        ap_valid,
    output logic                        ap_ready,
    input  logic                        ap_write,
    input  logic [AAW-1:0]              ap_addr,
    input  logic [63:0]                 ap_wdata,
    output logic                        ap_rvalid,
    input  logic                        ap_rready,
    output logic [63:0]                 ap_rdata,
    // commit scan port
    input  logic                        scan_start,  // the doorbell: scan_en may rise next
    input  logic                        scan_en,
    input  logic                        scan_bank,
    input  logic [WAW-1:0]              scan_word,
    output logic                        scan_rvalid,
    output logic [63:0]                 scan_rdata,
    // pipeline
    input  logic                        active_bank,
    output logic [lbnic_pkg::GLOBAL_BITS-1:0] active_global,
    output logic [MAX_VIPS*lbnic_pkg::VIP_BITS-1:0] active_vips,
    output logic                        active_nat,  // a valid slot of active_vips is NAT
    input  logic                        be_valid,
    input  logic                        be_bank,
    input  logic [BIW-1:0]              be_index,
    output logic                        be_rvalid,
    output logic [lbnic_pkg::BACKEND_BITS-1:0] be_rdata,
    input  logic                        lut_valid,
    input  logic                        lut_bank,
    input  logic [LIW-1:0]              lut_index,
    output logic                        lut_rvalid,
    output logic [LUT_ENTRY_BITS-1:0]   lut_rdata
);
  localparam logic [WAW-1:0] VIP_W0 = WAW'(VIP_BASE / 8);
  localparam logic [WAW-1:0] BE_W0 = WAW'(BE_BASE / 8);
  localparam logic [WAW-1:0] LUT_W0 = WAW'(LUT_BASE / 8);

  // ---- registers: GLOBAL and VIP of both banks, a flat vector per bank.
  // (As arrays `[2][VW]` read whole at the active bank, Yosys made the VIP
  // table a memory with a read port per word and a 4096:1 mux behind each:
  // 8.4M mux cells at the default target, more than it can hold.)
  logic [64*GW-1:0] glob0, glob1;
  logic [64*VW-1:0] vips0, vips1;
  // Per slot, VALID and mode NAT, of each bank: kept as its word (flags
  // and mode) is written, so FRONT's has_nat is an OR of registers here,
  // not a compare per slot behind the active bank's mux and then the OR
  // (8 LUT levels across the two modules).
  localparam int unsigned NAT_W = lbnic_pkg::VIP_FLAGS_OFF / 8;  // the word
  localparam int unsigned NAT_FB = 8 * (lbnic_pkg::VIP_FLAGS_OFF % 8);
  localparam int unsigned NAT_MB = 8 * (lbnic_pkg::VIP_MODE_OFF % 8);
  if (lbnic_pkg::VIP_MODE_OFF / 8 != NAT_W) begin : g_nat_check
    $error("lbnic_bank: a VIP's flags and mode in two words");
  end
  // (plain 8-bit constants: Verilator 5.006 miscompares a size cast of a
  // package enum member)
  localparam logic [7:0] C_NAT = lbnic_pkg::MODE_NAT;
  localparam logic [7:0] C_VALID = 8'(lbnic_pkg::VIP_FLAG_VALID);
  /* verilator lint_off UNUSEDSIGNAL */
  function automatic logic nat_of(input logic [63:0] w);  // (the word's other fields)
  /* verilator lint_on UNUSEDSIGNAL */
    nat_of = |(w[NAT_FB+:8] & C_VALID) && w[NAT_MB+:8] == C_NAT;
  endfunction
  logic [MAX_VIPS-1:0] nat0, nat1;

  // ---- the host/scan port: one request per clock
  localparam int unsigned GIW = $clog2(GW);
  logic           ap_take;
  logic           req, req_we, req_bank;
  logic [GIW-1:0] req_gi;  // the word's index in GLOBAL
  logic [63:0]    req_wdata;
  logic           rd_pending;  // a host read in flight or waiting in ap_rdata
  // the host's request, registered (h_v is never high with scan_en), with
  // its section and offsets decoded before the register
  logic           h_v, h_we, h_bank;
  logic [GIW-1:0] h_gi;
  logic [63:0]    h_wdata;
  logic [3:0]     h_in;   // {LUT, BACKEND, VIP, GLOBAL}
  logic [WAW-1:0] h_vo, h_bo, h_lo;
  // a word's section, {LUT, BACKEND, VIP, GLOBAL}, and its offsets into
  // the VIP, BACKEND and LUT sections: what the host's and the scan's
  // requests are decoded to (registered, below)
  localparam int unsigned DW = 4 + 3 * WAW;
  function automatic logic [DW-1:0] decode(input logic [WAW-1:0] w);
    decode = {w >= LUT_W0 && w < LUT_W0 + WAW'(LUT_WORDS),
              w >= BE_W0 && w < BE_W0 + WAW'(MAX_BACKENDS * 4),
              w >= VIP_W0 && w < VIP_W0 + WAW'(VW),
              w < WAW'(GW),
              w - VIP_W0, w - BE_W0, w - LUT_W0};
  endfunction

  assign ap_ready = !scan_en && !scan_start && !rd_pending;
  assign ap_take  = ap_valid && ap_ready;
  always_ff @(posedge clk) begin
    logic hb;
    logic [WAW-1:0] hw;
    hb = ap_addr >= AAW'(BANK_LEN);
    hw = WAW'((ap_addr - (hb ? AAW'(BANK_LEN) : '0)) >> 3);
    h_v <= ap_take;
    h_we <= ap_write;
    h_bank <= hb;
    h_gi <= hw[GIW-1:0];
    h_wdata <= ap_wdata;
    {h_in, h_vo, h_bo, h_lo} <= decode(hw);
    if (rst) h_v <= 1'b0;
  end

  // the request's section and offsets into it (only their low bits are
  // used), both registered: the host's with its request, the scan's a
  // clock ahead from scan_word + 1 (word 0's, constants, in the scan's
  // first clock). Decoded from scan_word in the clock of the read, the
  // compares, the choice and a URAM cascade's enable decode were 10 LUT
  // levels (issue 13); decoded a clock ahead but chosen in the clock of
  // the read, 8 (the choice in front of the URAMs' cascade enables, on
  // 248 endpoints), so the choice is registered too (req_*, in_*, *o).
  logic           sc_on;  // scan_en last clock: scan_word is sc_w + 1
  logic [DW-1:0]  sc_d;   // decode(scan_word) when sc_on
  always_ff @(posedge clk) begin
    sc_on <= scan_en;
    sc_d <= decode(scan_word + 1'b1);
    if (rst) sc_on <= 1'b0;
  end
`ifndef SYNTHESIS
  logic [WAW-1:0] sc_w;
  always_ff @(posedge clk) begin
    sc_w <= scan_word;
    if (!rst && scan_en && (sc_on ? scan_word != sc_w + 1'b1 : scan_word != '0))
      $error("lbnic_bank: scan word %0d out of order", scan_word);
    if (!rst && scan_en && h_v) $error("lbnic_bank: a host request met the scan");
  end
`endif
  localparam logic [DW-1:0] D0 = decode('0);  // the scan's first word
  // the tables' request: the scan's (which has priority) or the host's
  logic req_scan, in_g, in_v, in_b, in_l;
  /* verilator lint_off UNUSEDSIGNAL */
  logic [WAW-1:0] vo, bo, lo;
  /* verilator lint_on UNUSEDSIGNAL */
  always_ff @(posedge clk) begin
    req       <= scan_en || h_v;
    req_scan  <= scan_en;
    req_we    <= !scan_en && h_we;
    req_bank  <= scan_en ? scan_bank : h_bank;
    req_gi    <= scan_en ? scan_word[GIW-1:0] : h_gi;
    req_wdata <= h_wdata;
    {in_l, in_b, in_v, in_g, vo, bo, lo} <= scan_en ? (sc_on ? sc_d : D0) : {h_in, h_vo, h_bo, h_lo};
    if (rst) req <= 1'b0;
  end

  always_ff @(posedge clk) begin
    for (int i = 0; i < GW; i++) begin
      if (req && req_we && in_g && req_gi == $clog2(GW)'(i)) begin
        if (req_bank) glob1[64*i+:64] <= req_wdata;
        else glob0[64*i+:64] <= req_wdata;
      end
    end
    for (int i = 0; i < VW; i++) begin
      if (req && req_we && in_v && vo[$clog2(VW)-1:0] == $clog2(VW)'(i)) begin
        if (req_bank) vips1[64*i+:64] <= req_wdata;
        else vips0[64*i+:64] <= req_wdata;
      end
    end
    for (int i = 0; i < MAX_VIPS; i++) begin
      if (req && req_we && in_v && vo[$clog2(VW)-1:0] == $clog2(VW)'(8 * i + NAT_W)) begin
        if (req_bank) nat1[i] <= nat_of(req_wdata);
        else nat0[i] <= nat_of(req_wdata);
      end
    end
  end
`ifndef SYNTHESIS
  always_ff @(posedge clk)
    for (int i = 0; i < MAX_VIPS; i++)
      if (!rst && (nat0[i] != nat_of(vips0[64*(8*i+NAT_W)+:64])
                   || nat1[i] != nat_of(vips1[64*(8*i+NAT_W)+:64])))
        $error("lbnic_bank: slot %0d's NAT flag apart from its VIP words", i);
`endif

  // the word at the request's offset in each bank's GLOBAL (lbnic_word_sel:
  // a mux tree, not a shifter over the section)
  logic [63:0] g_rd0, g_rd1;
  lbnic_word_sel #(.W(64), .N(GW), .IW($clog2(GW))) u_g_rd0 (
      .words(glob0), .index(req_gi), .word(g_rd0)
  );
  lbnic_word_sel #(.W(64), .N(GW), .IW($clog2(GW))) u_g_rd1 (
      .words(glob1), .index(req_gi), .word(g_rd1)
  );
  // The VIP table's words are read back from a block RAM copy per bank,
  // written with the flip-flops: a 2 x 2048:1 mux of 64-bit words over the
  // flip-flops would be ~70k LUTs at the default target for the host's
  // reads alone (spec §13 "Synthesis"). Same latency: the RAM's registered
  // read is stage 1.
  logic [63:0] vip_a_rdata[2];
  for (genvar k = 0; k < 2; k++) begin : g_vcopy
    /* verilator lint_off UNUSEDSIGNAL */
    logic [63:0] b_unused;  // port B: no reader
    /* verilator lint_on UNUSEDSIGNAL */
    lbnic_ram #(.WIDTH(64), .DEPTH(VW), .STYLE("block")) u_vip (
        .clk,
        .a_en(req && in_v && req_bank == k[0]),
        .a_we(req_we),
        .a_addr(vo[$clog2(VW)-1:0]),
        .a_wdata(req_wdata),
        .a_rdata(vip_a_rdata[k]),
        .b_en(1'b0),
        .b_addr('0),
        .b_rdata(b_unused)
    );
  end

  // Stage 1: register values read, section selects; stage 2: the mux.
  logic        s1_rd, s1_scan, s1_g, s1_v, s1_b, s1_l, s1_bank;
  logic [1:0]  s1_lane;
  logic        s1_odd;
  logic [63:0] s1_reg;
  logic [63:0] be_a_rdata[2][4];
  logic [63:0] lut_a_rdata[2][2];
  always_ff @(posedge clk) begin
    s1_rd   <= req && !req_we;
    s1_scan <= req_scan;
    s1_g    <= in_g;
    s1_v    <= in_v;
    s1_b    <= in_b;
    s1_l    <= in_l;
    s1_bank <= req_bank;
    s1_lane <= bo[1:0];
    s1_odd  <= lo[0];
    s1_reg  <= req_bank ? g_rd1 : g_rd0;
    if (rst) s1_rd <= 1'b0;
  end
  logic [63:0] s1_data;
  always_comb begin
    s1_data = '0;
    if (s1_g) s1_data = s1_reg;
    if (s1_v) s1_data = vip_a_rdata[s1_bank];
    if (s1_b) s1_data = be_a_rdata[s1_bank][s1_lane];
    if (s1_l) s1_data = lut_a_rdata[s1_bank][s1_odd ? 1 : 0];
  end
  always_ff @(posedge clk) begin
    if (rst) begin
      scan_rvalid <= 1'b0;
      ap_rvalid   <= 1'b0;
      rd_pending  <= 1'b0;
    end else begin
      scan_rvalid <= s1_rd && s1_scan;
      if (s1_rd && !s1_scan) ap_rvalid <= 1'b1;
      else if (ap_rready) ap_rvalid <= 1'b0;
      if (ap_take && !ap_write) rd_pending <= 1'b1;
      else if (ap_rvalid && ap_rready) rd_pending <= 1'b0;
    end
    scan_rdata <= s1_data;
    if (s1_rd && !s1_scan) ap_rdata <= s1_data;
  end

  // ---- BACKEND and LUT RAMs of both banks
  logic [BIW-1:0] be_b_addr;
  logic [LHW-1:0] lut_even_addr, lut_odd_addr;
  logic [63:0]    be_b_rdata[2][4];
  logic [63:0]    lut_b_rdata[2][2];
  // LUT entry i: bits [i*BITS +: BITS] of the section = bits [sh +: BITS]
  // of {word w+1, word w}, w = i*BITS/64; word w+1 is in the other half.
  localparam int unsigned LBW = LIW + $clog2(LUT_ENTRY_BITS) + 1;
  wire [LBW-1:0] lbit = LBW'(lut_index) * LBW'(LUT_ENTRY_BITS);
  wire [LBW-7:0] lw = lbit[LBW-1:6];
  wire [LBW-7:0] lw1 = lw + 1'b1;
  assign be_b_addr = be_index;
  assign lut_even_addr = LHW'(lw[0] ? lw1 >> 1 : lw >> 1);
  assign lut_odd_addr = LHW'(lw >> 1);

  for (genvar k = 0; k < 2; k++) begin : g_bank
    for (genvar j = 0; j < 4; j++) begin : g_be
      lbnic_ram #(.WIDTH(64), .DEPTH(MAX_BACKENDS), .STYLE("block")) u_be (
          .clk,
          .a_en(req && in_b && req_bank == k[0] && bo[1:0] == j[1:0]),
          .a_we(req_we),
          .a_addr(bo[BIW+1:2]),
          .a_wdata(req_wdata),
          .a_rdata(be_a_rdata[k][j]),
          .b_en(be_valid && be_bank == k[0]),
          .b_addr(be_b_addr),
          .b_rdata(be_b_rdata[k][j])
      );
    end
    for (genvar j = 0; j < 2; j++) begin : g_lut
      lbnic_ram #(.WIDTH(64), .DEPTH(LUT_HALF), .STYLE("ultra")) u_lut (
          .clk,
          .a_en(req && in_l && req_bank == k[0] && lo[0] == j[0]),
          .a_we(req_we),
          .a_addr(lo[LHW:1]),
          .a_wdata(req_wdata),
          .a_rdata(lut_a_rdata[k][j]),
          .b_en(lut_valid && lut_bank == k[0]),
          .b_addr(j == 0 ? lut_even_addr : lut_odd_addr),
          .b_rdata(lut_b_rdata[k][j])
      );
    end
  end

  // pipeline read outputs
  logic       be1_v, be1_bank, lut1_v, lut1_bank, lut1_odd;
  logic [5:0] lut1_sh;
  always_ff @(posedge clk) begin
    be1_v     <= be_valid && !rst;
    be1_bank  <= be_bank;
    lut1_v    <= lut_valid && !rst;
    lut1_bank <= lut_bank;
    lut1_odd  <= lw[0];
    lut1_sh   <= lbit[5:0];
    be_rvalid <= be1_v && !rst;
    be_rdata  <= {be_b_rdata[be1_bank][3], be_b_rdata[be1_bank][2], be_b_rdata[be1_bank][1], be_b_rdata[be1_bank][0]};
    lut_rvalid <= lut1_v && !rst;
    lut_rdata <= LUT_ENTRY_BITS'((lut1_odd ? {lut_b_rdata[lut1_bank][0], lut_b_rdata[lut1_bank][1]}
                                           : {lut_b_rdata[lut1_bank][1], lut_b_rdata[lut1_bank][0]}) >> lut1_sh);
  end

  assign active_global = active_bank ? glob1 : glob0;
  assign active_vips = active_bank ? vips1 : vips0;
  assign active_nat = active_bank ? |nat1 : |nat0;
endmodule
