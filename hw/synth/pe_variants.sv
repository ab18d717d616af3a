`timescale 1ns/1ns
// pe_variants.sv -- wrappers around fap_pe for the area comparison of
// hw/synth/synth_pe.sh (synthesis only; not part of the array).
//
// pe_nobypass:    fap_pe with BYPASS_MUX = 0 (no FAP bypass at all).
// pe_fap:         fap_pe as the array instantiates it (the FAP bypass).
// pe_rowcol_reg:  row/column bypass as fapsim models it (docs/mitigations.md):
//                 a switched-off row or column is every PE on it bypassed by
//                 the FAP mux, so the PE's bypass is fault | row_off | col_off;
//                 data still takes one register stage per PE.
// pe_rowcol_wire: a zero-latency pass-through, for comparison: a switched-off
//                 PE's outputs are its inputs (a mux on the activation and the
//                 partial-sum paths), as a bypass that skips the line would be.
module pe_nobypass #(
    parameter int W_W = 8, parameter int A_W = 8, parameter int P_W = 32
) (
    input  logic clk, rst, fault, shift_w, swap,
    input  logic signed [W_W-1:0] w_in, input logic wv_in,
    output logic signed [W_W-1:0] w_chain, output logic wv_chain,
    input  logic signed [A_W-1:0] a_in, input logic av_in,
    output logic signed [A_W-1:0] a_out, output logic av_out,
    input  logic signed [P_W-1:0] p_in, input logic pv_in,
    output logic signed [P_W-1:0] p_out, output logic pv_out
);
    fap_pe #(.W_W(W_W), .A_W(A_W), .P_W(P_W), .STUCK_AT(1'b0), .BYPASS_MUX(1'b0)) u_pe (
        .clk(clk), .rst(rst), .bypass(fault),
        .stuck_en(1'b0), .stuck_bit(8'd0), .stuck_val(1'b0),
        .shift_w(shift_w), .swap(swap), .w_in(w_in), .wv_in(wv_in), .w_chain(w_chain), .wv_chain(wv_chain),
        .a_in(a_in), .av_in(av_in), .a_out(a_out), .av_out(av_out),
        .p_in(p_in), .pv_in(pv_in), .p_out(p_out), .pv_out(pv_out));
endmodule

module pe_fap #(
    parameter int W_W = 8, parameter int A_W = 8, parameter int P_W = 32
) (
    input  logic clk, rst, fault, shift_w, swap,
    input  logic signed [W_W-1:0] w_in, input logic wv_in,
    output logic signed [W_W-1:0] w_chain, output logic wv_chain,
    input  logic signed [A_W-1:0] a_in, input logic av_in,
    output logic signed [A_W-1:0] a_out, output logic av_out,
    input  logic signed [P_W-1:0] p_in, input logic pv_in,
    output logic signed [P_W-1:0] p_out, output logic pv_out
);
    fap_pe #(.W_W(W_W), .A_W(A_W), .P_W(P_W), .STUCK_AT(1'b0)) u_pe (
        .clk(clk), .rst(rst), .bypass(fault),
        .stuck_en(1'b0), .stuck_bit(8'd0), .stuck_val(1'b0),
        .shift_w(shift_w), .swap(swap), .w_in(w_in), .wv_in(wv_in), .w_chain(w_chain), .wv_chain(wv_chain),
        .a_in(a_in), .av_in(av_in), .a_out(a_out), .av_out(av_out),
        .p_in(p_in), .pv_in(pv_in), .p_out(p_out), .pv_out(pv_out));
endmodule

module pe_rowcol_reg #(
    parameter int W_W = 8, parameter int A_W = 8, parameter int P_W = 32
) (
    input  logic clk, rst, fault, row_off, col_off, shift_w, swap,
    input  logic signed [W_W-1:0] w_in, input logic wv_in,
    output logic signed [W_W-1:0] w_chain, output logic wv_chain,
    input  logic signed [A_W-1:0] a_in, input logic av_in,
    output logic signed [A_W-1:0] a_out, output logic av_out,
    input  logic signed [P_W-1:0] p_in, input logic pv_in,
    output logic signed [P_W-1:0] p_out, output logic pv_out
);
    fap_pe #(.W_W(W_W), .A_W(A_W), .P_W(P_W), .STUCK_AT(1'b0)) u_pe (
        .clk(clk), .rst(rst), .bypass(fault | row_off | col_off),
        .stuck_en(1'b0), .stuck_bit(8'd0), .stuck_val(1'b0),
        .shift_w(shift_w), .swap(swap), .w_in(w_in), .wv_in(wv_in), .w_chain(w_chain), .wv_chain(wv_chain),
        .a_in(a_in), .av_in(av_in), .a_out(a_out), .av_out(av_out),
        .p_in(p_in), .pv_in(pv_in), .p_out(p_out), .pv_out(pv_out));
endmodule

module pe_rowcol_wire #(
    parameter int W_W = 8, parameter int A_W = 8, parameter int P_W = 32
) (
    input  logic clk, rst, fault, row_off, col_off, shift_w, swap,
    input  logic signed [W_W-1:0] w_in, input logic wv_in,
    output logic signed [W_W-1:0] w_chain, output logic wv_chain,
    input  logic signed [A_W-1:0] a_in, input logic av_in,
    output logic signed [A_W-1:0] a_out, output logic av_out,
    input  logic signed [P_W-1:0] p_in, input logic pv_in,
    output logic signed [P_W-1:0] p_out, output logic pv_out
);
    logic signed [A_W-1:0] a_q; logic av_q;
    logic signed [P_W-1:0] p_q; logic pv_q;
    logic off;
    assign off = row_off | col_off;
    fap_pe #(.W_W(W_W), .A_W(A_W), .P_W(P_W), .STUCK_AT(1'b0)) u_pe (
        .clk(clk), .rst(rst), .bypass(fault),
        .stuck_en(1'b0), .stuck_bit(8'd0), .stuck_val(1'b0),
        .shift_w(shift_w), .swap(swap), .w_in(w_in), .wv_in(wv_in), .w_chain(w_chain), .wv_chain(wv_chain),
        .a_in(a_in), .av_in(av_in), .a_out(a_q), .av_out(av_q),
        .p_in(p_in), .pv_in(pv_in), .p_out(p_q), .pv_out(pv_q));
    // A switched-off row passes activations on without delay; a switched-off
    // column passes partial sums down without delay.
    assign a_out  = row_off ? a_in  : a_q;
    assign av_out = row_off ? av_in : av_q;
    assign p_out  = col_off ? p_in  : p_q;
    assign pv_out = col_off ? pv_in : pv_q;
endmodule

// Spare PEs, column-groups layout (hw/rtl/fap_spare_array.sv), split the way the
// array is: every array PE pays pe_spare_host, every spare pays pe_spare.
//
// pe_spare_host:  the FAP PE with what fap_spare_array adds at each array
//                 position: the compare of its spare's select with its own
//                 column in the group (`replaced`) and the 2:1 mux that takes
//                 the partial sum and its valid bit from the spare.
//                 K is the position's column in its group (any constant does).
// pe_spare:       fap_spare_pe: a fault-free PE (no stuck-at injector) behind
//                 G:1 muxes on the weight-chain input, the activation and the
//                 partial sum (with their valid bits: 8+1+8+1+32+1 = 51 bits).
module pe_spare_host #(
    parameter int G = 32, parameter int K = 1,
    parameter int W_W = 8, parameter int A_W = 8, parameter int P_W = 32,
    localparam int SEL_W = G > 1 ? $clog2(G) : 1
) (
    input  logic clk, rst, fault, shift_w, swap,
    input  logic spare_en, input logic [SEL_W-1:0] spare_idx,
    input  logic signed [W_W-1:0] w_in, input logic wv_in,
    output logic signed [W_W-1:0] w_chain, output logic wv_chain,
    input  logic signed [A_W-1:0] a_in, input logic av_in,
    output logic signed [A_W-1:0] a_out, output logic av_out,
    input  logic signed [P_W-1:0] p_in, input logic pv_in,
    input  logic signed [P_W-1:0] sp_in, input logic spv_in,   // the spare's partial-sum register
    output logic signed [P_W-1:0] p_out, output logic pv_out
);
    logic signed [P_W-1:0] p_q; logic pv_q;
    logic replaced;
    fap_pe #(.W_W(W_W), .A_W(A_W), .P_W(P_W), .STUCK_AT(1'b0)) u_pe (
        .clk(clk), .rst(rst), .bypass(fault),
        .stuck_en(1'b0), .stuck_bit(8'd0), .stuck_val(1'b0),
        .shift_w(shift_w), .swap(swap), .w_in(w_in), .wv_in(wv_in), .w_chain(w_chain), .wv_chain(wv_chain),
        .a_in(a_in), .av_in(av_in), .a_out(a_out), .av_out(av_out),
        .p_in(p_in), .pv_in(pv_in), .p_out(p_q), .pv_out(pv_q));
    // as in fap_spare_array
    assign replaced = spare_en && (spare_idx == SEL_W'(K));
    assign p_out  = replaced ? sp_in  : p_q;
    assign pv_out = replaced ? spv_in : pv_q;
endmodule

module pe_spare #(
    parameter int G = 32,
    parameter int W_W = 8, parameter int A_W = 8, parameter int P_W = 32,
    localparam int SEL_W = G > 1 ? $clog2(G) : 1
) (
    input  logic clk, rst, shift_w, swap,
    input  logic en, input logic [SEL_W-1:0] idx,
    input  logic [G*W_W-1:0] w_cand, input logic [G-1:0] wv_cand,
    input  logic [G*A_W-1:0] a_cand, input logic [G-1:0] av_cand,
    input  logic [G*P_W-1:0] p_cand, input logic [G-1:0] pv_cand,
    output logic signed [P_W-1:0] p_out, output logic pv_out
);
    fap_spare_pe #(.G(G), .SEL_W(SEL_W), .W_W(W_W), .A_W(A_W), .P_W(P_W)) u_spare (
        .clk(clk), .rst(rst), .en(en), .idx(idx), .shift_w(shift_w), .swap(swap),
        .w_cand(w_cand), .wv_cand(wv_cand), .a_cand(a_cand), .av_cand(av_cand),
        .p_cand(p_cand), .pv_cand(pv_cand), .p_out(p_out), .pv_out(pv_out));
endmodule
