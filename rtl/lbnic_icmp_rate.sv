// The device-wide budget of ICMP too-big answers (spec §12.1 point 3 "Rate
// limit"; Rust hw_model::packet::icmp::RateLimit::take): a token bucket of
// `icmp_burst` answers refilled at `icmp_rate` answers per second by the
// packets' ingress device time in ticks of TICK_US microseconds.
//
// Credit is an integer in answers/s x us (one answer = 10^6): at each take
// it becomes min(credit + (now - last) * rate * TICK_US, burst * 10^6)
// (now - last saturating at 0), or burst * 10^6 at the first take after
// reset (the bucket starts full); then `last` = now, and the answer is sent
// (credit -= 10^6) unless rate is 0 or credit < 10^6. `clear` (the
// CONTROL.RESET bit) makes it full again; nothing else touches it (a commit
// keeps it).
//
// Two steps per answer, one answer at a time, in order (REWRITE's too-big
// unit handles one packet at a time). Issue 13: the whole refill in the
// request's clock was 16 LUT levels; now it is pipelined, 4:
//  - `prep` (always accepted; a prep changes no state, the last one counts)
//    samples now / rate / burst and computes the refill from the state as
//    it is (only a take changes credit and last) over PREP_LAT = 3 stages:
//    the prep clock registers dt = now - last; then dt x rate as four
//    16 x 16 products (DSP48E2, registered) and the cap burst x 10^6; then
//    the products' cross sum, cap - credit and credit - 10^6; then
//    dt x rate x TICK_US, flagged as over any cap when dt x rate >= 2^DRW;
//  - `take` (take_ready: from the 4th clock after the prep clock, until the
//    take) commits in one clock: the refill reaches the cap iff
//    refill >= cap - credit, the answer is sent iff rate != 0 and the
//    credit after the refill is >= 10^6; a full bucket (no take since
//    reset or `clear`, also a clear between the prep and the take) is
//    the cap, whatever the refill. The decision is
//    registered: res_* valid for one clock, the clock after the take.
// lbnic_icmp_too_big preps with the descriptor and takes after pass 1, at
// least 4 clocks later (read request, one beat, decide, take), so its take
// never waits and its cycles are those of the one-clock bucket.
module lbnic_icmp_rate #(
    parameter int unsigned TICK_US = lbnic_pkg::TARGET_CT_TICK_US
) (
    input  logic        clk,
    input  logic        rst,
    input  logic        clear,
    input  logic        prep_valid,
    input  logic [31:0] prep_now,
    input  logic [31:0] prep_rate,
    input  logic [31:0] prep_burst,
    output logic        take_ready,
    input  logic        take_valid,
    output logic        res_valid,
    output logic        res_send,
    output logic        res_rate_limited
);
  function automatic int unsigned gcd(input int unsigned a, input int unsigned b);
    int unsigned x, y, t;
    x = a;
    y = b;
    for (int i = 0; i < 48; i++) begin
      if (y != 0) begin
        t = x % y;
        x = y;
        y = t;
      end
    end
    gcd = x;
  endfunction

  // Credit in units of G answers/s x us, G = gcd(TICK_US, 10^6) (every
  // amount is a multiple of it: the refill dt x rate x TICK_US, the cost
  // 10^6, the cap burst x 10^6): at the default tick (1000 us) the refill
  // is dt x rate with no multiply by the tick, an answer costs 1000 and the
  // cap is burst x 1000 < 2^42.
  localparam int unsigned G = gcd(TICK_US, 1000000);
  localparam int unsigned S = TICK_US / G;          // refill per dt x rate
  localparam int unsigned C = 1000000 / G;          // one answer
  localparam int unsigned CW = 32 + $clog2(C + 1);  // credit, cap < 2^CW
  // dt x rate >= 2^DRW means a refill >= 2^CW, over any cap: with
  // 2^(clog2(S + 1) - 1) <= S, 2^DRW x S >= 2^CW; below it the refill < 2^AW.
  localparam int unsigned DRW = CW + 1 - $clog2(S + 1);
  localparam int unsigned AW = CW + 1;
  localparam logic [CW-1:0] COST = CW'(C);

  // ---- state --------------------------------------------------------------
  logic [CW-1:0] credit;
  logic [31:0]   last;
  logic          full;        // no take since reset: `last` is None

  // ---- the refill pipeline ------------------------------------------------
  // A stage's registers hold still once their inputs do: between the prep
  // and the take only the pipeline moves (a prep is the only writer of
  // stage 0, a take the only writer of credit and last but `clear`, after
  // which the take uses the capped bucket), so each value is kept once, in
  // the stage that computes it, and the take reads it there.
  logic        v0, v1, v2, v3;
  // Stage 0 (registered at the prep): dt, rate, burst, now.
  logic [31:0] dt0, rate0, burst0, now0;
  // Stage 1: the four 16 x 16 products of dt x rate and the two of
  // burst x C (DSPs: registered operands and products).
  logic [31:0]   m_ll, m_lh, m_hl, m_hh;
  logic [CW-17:0] c_lo, c_hi;
  logic          rnz1, bnz1;
  // Stage 2: the products' cross sum, the cap, credit - C.
  logic [32:0]   cross2;
  logic [CW-1:0] cap2;
  logic [CW+1:0] cm2;
  // Stage 3: the refill below 2^AW and whether dt x rate >= 2^DRW; the
  // capped bucket after a take (capt3), cap - credit clipped at 0 (head3).
  logic [AW-1:0] add3;
  logic          ovf3;
  logic [CW-1:0] capt3, head3;

  logic [31:0] dt_c;
  logic [63:0] dr_c;          // dt x rate
  always_comb begin
    dt_c = (prep_now > last) ? prep_now - last : 32'd0;
    dr_c = {m_hh, m_ll} + {15'd0, cross2, 16'd0};
  end

  always_ff @(posedge clk) begin
    if (prep_valid) begin
      dt0    <= dt_c;
      rate0  <= prep_rate;
      burst0 <= prep_burst;
      now0   <= prep_now;
    end
    m_ll <= 32'(dt0[15:0]) * 32'(rate0[15:0]);
    m_lh <= 32'(dt0[15:0]) * 32'(rate0[31:16]);
    m_hl <= 32'(dt0[31:16]) * 32'(rate0[15:0]);
    m_hh <= 32'(dt0[31:16]) * 32'(rate0[31:16]);
    c_lo <= (CW - 16)'(burst0[15:0]) * (CW - 16)'(C);
    c_hi <= (CW - 16)'(burst0[31:16]) * (CW - 16)'(C);
    rnz1 <= rate0 != 32'd0;
    bnz1 <= burst0 != 32'd0;

    cross2 <= {1'b0, m_lh} + {1'b0, m_hl};
    cap2   <= {c_hi, 16'd0} + CW'(c_lo);
    cm2    <= {2'b0, credit} - {2'b0, COST};

    if (S == 1) begin
      add3 <= AW'(dr_c[DRW-1:0]);
    end else begin
      add3 <= AW'(dr_c[DRW-1:0]) * AW'(S);
    end
    ovf3  <= dr_c[63:DRW] != '0;
    // a take from the capped bucket sends iff rate != 0 and burst != 0
    capt3 <= (rnz1 && bnz1) ? cap2 - COST : cap2;
    head3 <= (cap2 > credit) ? cap2 - credit : '0;

    if (rst) begin
      v0 <= 1'b0;
      v1 <= 1'b0;
      v2 <= 1'b0;
      v3 <= 1'b0;
    end else begin
      v0 <= prep_valid;
      v1 <= v0 && !prep_valid;
      v2 <= v1 && !prep_valid;
      v3 <= (v3 && !take_valid || v2) && !prep_valid;
    end
  end

  // ---- the take ------------------------------------------------------------
  logic          sat, ge, send;
  logic [AW-1:0] sum;         // credit + add (< cap when not sat)
  logic [CW+1:0] summ;        // credit + add - C, two's complement
  logic [CW-1:0] next_credit;
  always_comb begin
    // credit + add >= cap iff add >= cap - credit (clipped at 0)
    sat  = full || ovf3 || (add3 >= AW'(head3));
    sum  = AW'(credit) + add3;
    summ = cm2 + (CW + 2)'(add3);
    ge   = !summ[CW+1];
    if (sat) begin
      send        = rnz1 && bnz1;
      next_credit = capt3;
    end else begin
      send        = rnz1 && ge;
      next_credit = (rnz1 && ge) ? summ[CW-1:0] : sum[CW-1:0];
    end
  end

  assign take_ready = v3;

  always_ff @(posedge clk) begin
    if (rst || clear) begin
      credit <= '0;
      last   <= '0;
      full   <= 1'b1;
    end else if (take_valid && take_ready) begin
      credit <= next_credit;
      last   <= now0;
      full   <= 1'b0;
    end
    if (rst) begin
      res_valid        <= 1'b0;
      res_send         <= 1'b0;
      res_rate_limited <= 1'b0;
    end else begin
      res_valid        <= take_valid && take_ready;
      res_send         <= take_valid && take_ready && send;
      res_rate_limited <= take_valid && take_ready && !send;
    end
  end

  logic unused;
  assign unused = ^{sum[AW-1:CW], summ[CW:CW]};
endmodule
