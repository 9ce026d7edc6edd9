// The device-wide budget of ICMP too-big answers (spec §12.1 point 3 "Rate
// limit"; Rust hw_model::packet::icmp::RateLimit::take): a token bucket of
// `icmp_burst` answers refilled at `icmp_rate` answers per second by the
// packets' ingress device time in ticks of TICK_US microseconds.
//
// Credit is an integer in answers/s x us (one answer = 10^6): at each
// request it becomes min(credit + (now - last) * rate * TICK_US, burst * 10^6)
// (now - last saturating at 0), or burst * 10^6 at the first request after
// reset (the bucket starts full); then `last` = now, and the answer is sent
// (credit -= 10^6) unless rate is 0 or credit < 10^6. `clear` (the
// CONTROL.RESET bit) makes it full again; nothing else touches it (a commit
// keeps it). One decision per request, in request order (REWRITE asks in
// packet order), registered: the answer is valid the clock after the request
// is taken; req_ready = !res_valid || res_ready, so 1 decision per clock.
module lbnic_icmp_rate #(
    parameter int unsigned TICK_US = lbnic_pkg::TARGET_CT_TICK_US
) (
    input  logic        clk,
    input  logic        rst,
    input  logic        clear,
    input  logic        req_valid,
    output logic        req_ready,
    input  logic [31:0] req_now,
    input  logic [31:0] req_rate,
    input  logic [31:0] req_burst,
    output logic        res_valid,
    input  logic        res_ready,
    output logic        res_send,
    output logic        res_rate_limited
);
  localparam logic [63:0] COST = 64'd1000000;

  // Credit never exceeds burst * 10^6 < 2^52.
  logic [51:0] credit;
  logic [31:0] last;
  logic        full;          // no request since reset: `last` is None

  logic [31:0] dt;
  logic [63:0] dr;            // dt * rate, exact
  logic [95:0] add;           // dt * rate * TICK_US, exact
  logic [63:0] cap;
  logic [63:0] sum;
  logic [63:0] next;
  logic        send;

  always_comb begin
    cap  = {32'd0, req_burst} * COST;
    dt   = (req_now > last) ? req_now - last : 32'd0;
    dr   = {32'd0, dt} * {32'd0, req_rate};
    add  = {32'd0, dr} * 96'(TICK_US);
    sum  = {12'd0, credit} + add[63:0];
    if (full) begin
      next = cap;
    end else if (add >= {32'd0, cap} || sum >= cap) begin
      next = cap;
    end else begin
      next = sum;
    end
    send = (req_rate != 32'd0) && (next >= COST);
  end

  assign req_ready = !res_valid || res_ready;

  always_ff @(posedge clk) begin
    if (rst || clear) begin
      credit <= '0;
      last   <= '0;
      full   <= 1'b1;
    end else if (req_valid && req_ready) begin
      credit <= send ? 52'(next - COST) : next[51:0];
      last   <= req_now;
      full   <= 1'b0;
    end
    if (rst) begin
      res_valid        <= 1'b0;
      res_send         <= 1'b0;
      res_rate_limited <= 1'b0;
    end else if (req_ready) begin
      res_valid        <= req_valid;
      res_send         <= req_valid && send;
      res_rate_limited <= req_valid && !send;
    end
  end
endmodule
