`timescale 1ns/1ns
// fap_spare_pe.sv -- the spare PE of one row of one column group, with its G:1
// input muxes (docs/rtl-cosim.md, "Spare PEs").
//
// Under the column-groups layout each group of G adjacent array columns has a
// spare column; the spare in row r of it can take the place of one PE of row r
// in the group.  `en`/`idx` (static configuration, from fapsim's SpareRepair)
// say which: column idx of the group when en = 1, none when en = 0.
//
// The spare does the replaced PE's work in the same cycle, so the dataflow and
// the cycle count stay those of a fault-free array: the G:1 muxes hand it what
// the replaced PE sees -- the activation from the left, the partial sum from
// above, and the weight-chain input (the spare loads the same weight, on the
// same shift/swap edges, as the PE it replaces) -- and fap_spare_array takes
// the replaced PE's partial-sum output from the spare.  Everything else the
// replaced PE does (passing its activation right, its weight chain down) it
// keeps doing: the fault model is a defect in the MAC path (docs/rtl-cosim.md).
//
// The spare itself is a fap_pe (spares are assumed fault-free,
// docs/mitigations.md), bypassed while unused so an idle spare never adds into
// its register.  Its own activation and weight-chain outputs go nowhere.  It is
// the array's PE module (`FAP_PE_MODULE, default fap_pe), so a user PE swapped
// into the array is the spare too.
`ifndef FAP_PE_MODULE
`define FAP_PE_MODULE fap_pe
`endif
module fap_spare_pe #(
    parameter int G = 4,                 // columns per group (candidates of each mux)
    parameter int SEL_W = 2,             // width of idx: max(1, clog2(G))
    parameter int W_W = 8,
    parameter int A_W = 8,
    parameter int P_W = 32,
    parameter bit DOUBLE_BUFFERED = 1'b0,
    parameter bit TOP_ROW = 1'b0
) (
    input  logic                 clk,
    input  logic                 rst,
    input  logic                 en,          // static: this spare replaces a PE
    /* verilator lint_off UNUSEDSIGNAL */     // (a group of 1 column has nothing to select)
    input  logic [SEL_W-1:0]     idx,         // static: which column of the group
    /* verilator lint_on UNUSEDSIGNAL */
    input  logic                 shift_w,
    input  logic                 swap,
    // candidate k is what PE(r, group*G + k) receives
    input  logic [G*W_W-1:0]     w_cand,      // its weight-chain input
    input  logic [G-1:0]         wv_cand,
    input  logic [G*A_W-1:0]     a_cand,      // its activation input
    input  logic [G-1:0]         av_cand,
    /* verilator lint_off UNUSEDSIGNAL */     // row 0's partial-sum inputs are constants
    input  logic [G*P_W-1:0]     p_cand,      // its partial-sum input
    input  logic [G-1:0]         pv_cand,
    /* verilator lint_on UNUSEDSIGNAL */
    output logic signed [P_W-1:0] p_out,      // the replaced PE's partial-sum register
    output logic                  pv_out
);
    logic signed [W_W-1:0] w_sel;
    logic signed [A_W-1:0] a_sel;
    logic signed [P_W-1:0] p_sel;
    logic                  wv_sel, av_sel, pv_sel;
    // The G:1 muxes (51 bits wide at int8/int32).  Written as a select chain
    // rather than an indexed part-select: Yosys 0.23 maps `x[idx*W +: W]` to a
    // shifter: 3,563 cells for G = 32 against 3,082 (docs/mitigations.md, "Area from
    // the RTL").  idx >= G cannot come from a repair; it selects column 0.
    always_comb begin
        w_sel = w_cand[0 +: W_W];  wv_sel = wv_cand[0];
        a_sel = a_cand[0 +: A_W];  av_sel = av_cand[0];
        p_sel = p_cand[0 +: P_W];  pv_sel = pv_cand[0];
        for (int k = 1; k < G; k++) begin
            if (idx == SEL_W'(k)) begin
                w_sel = w_cand[k*W_W +: W_W];  wv_sel = wv_cand[k];
                a_sel = a_cand[k*A_W +: A_W];  av_sel = av_cand[k];
                p_sel = p_cand[k*P_W +: P_W];  pv_sel = pv_cand[k];
            end
        end
    end

    /* verilator lint_off UNUSEDSIGNAL */
    logic signed [W_W-1:0] w_chain_unused;
    logic signed [A_W-1:0] a_out_unused;
    logic                  wv_chain_unused, av_out_unused;
    /* verilator lint_on UNUSEDSIGNAL */

    `FAP_PE_MODULE #(
        .W_W(W_W), .A_W(A_W), .P_W(P_W),
        .DOUBLE_BUFFERED(DOUBLE_BUFFERED), .TOP_ROW(TOP_ROW), .STUCK_AT(1'b0)
    ) u_pe (
        .clk(clk), .rst(rst),
        .bypass(~en),
        .stuck_en(1'b0), .stuck_bit(8'd0), .stuck_val(1'b0),
        .shift_w(shift_w), .swap(swap),
        .w_in(w_sel), .wv_in(wv_sel),
        .w_chain(w_chain_unused), .wv_chain(wv_chain_unused),
        .a_in(a_sel), .av_in(av_sel),
        .a_out(a_out_unused), .av_out(av_out_unused),
        .p_in(p_sel), .pv_in(pv_sel),
        .p_out(p_out), .pv_out(pv_out)
    );
endmodule
