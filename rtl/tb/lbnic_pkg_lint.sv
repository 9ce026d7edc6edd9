// Lint top for the generated package rtl/pkg/lbnic_pkg.sv (Verilator needs
// a module to elaborate it). Qualified names only: Yosys rejects
// `import lbnic_pkg::*`. Checks at elaboration that the packed structs are
// exactly one entry wide and decodes one memory beat of each kind.
module lbnic_pkg_lint (
    input  logic [511:0]          ct_beat,
    input  logic [511:0]          vip_beat,
    input  logic [255:0]          backend_half_beat,
    input  logic [2047:0]         global_section,
    output lbnic_pkg::ct_way_t    ct_way,
    output lbnic_pkg::vip_t       vip,
    output lbnic_pkg::backend_t   backend,
    output lbnic_pkg::global_t    global_entry,
    output logic                  ct_live_reverse,
    output logic                  vip_is_nat
);
  if ($bits(ct_way) != lbnic_pkg::CT_WAY_BITS) begin : g_ct_width
    $error("ct_way_t is not CT_WAY_BITS wide");
  end
  if ($bits(vip) != lbnic_pkg::VIP_BITS) begin : g_vip_width
    $error("vip_t is not VIP_BITS wide");
  end
  if ($bits(backend) != lbnic_pkg::BACKEND_BITS) begin : g_backend_width
    $error("backend_t is not BACKEND_BITS wide");
  end
  if ($bits(global_entry) != lbnic_pkg::GLOBAL_BITS) begin : g_global_width
    $error("global_t is not GLOBAL_BITS wide");
  end
  if (lbnic_pkg::CT_WAY_BITS != 8 * lbnic_pkg::TARGET_DATAPATH_BYTES) begin : g_beat
    $error("a conntrack way is not one datapath beat");
  end

  localparam logic [7:0] LiveReverse = lbnic_pkg::CT_WAY_FLAG_VALID[7:0] | lbnic_pkg::CT_WAY_FLAG_REVERSE[7:0];

  assign ct_way = ct_beat;
  assign vip = vip_beat;
  assign backend = backend_half_beat;
  assign global_entry = global_section;
  assign ct_live_reverse = (ct_way.flags & LiveReverse) == LiveReverse;
  assign vip_is_nat = vip.mode == lbnic_pkg::MODE_NAT;
endmodule
