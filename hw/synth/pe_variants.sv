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
