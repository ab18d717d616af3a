`timescale 1ns/1ns
// fap_array.sv -- ROWS x COLS weight-stationary array of fap_pe with FAP bypass.
//
// PE(i,j): row i (0 at the top), column j (0 at the left).
//   activations enter row i at the left (feed[i], feed_valid[i]) and move right;
//   partial sums enter each column at the top as 0 and leave at the bottom
//   (p_bottom[j], pv_bottom[j]: the registers of PE(ROWS-1, j));
//   weights enter each column at the top (weight_in[j], weight_valid_in[j]) and
//   move down one row per shift_weights edge (into the shadow chain when
//   DOUBLE_BUFFERED = 1; swap copies shadow -> active in every PE at once).
// fault[i*COLS+j] = 1 bypasses PE(i,j).  Row/column bypass: row_off[i] = 1 or
// col_off[j] = 1 switches the whole line off, every PE on it bypassed by the same
// FAP mux, so activations and partial sums pass through it one register stage
// per PE (docs/mitigations.md); all zero, the array is the plain FAP array.  The stuck-at port (test only) forces bit
// stuck_bit of PE(stuck_row, stuck_col)'s MAC result to stuck_val when stuck_en.
// The PE module can be replaced by a user PE with the same ports and
// parameters: compile with +define+FAP_PE_MODULE=my_pe (Icarus -DFAP_PE_MODULE=my_pe).
// The generate itself is fap_array_core.sv (shared with fap_spare_array).
module fap_array #(
    parameter int ROWS = 4,
    parameter int COLS = 4,
    parameter int DOUBLE_BUFFERED = 0,     // 0: single-buffered, 1: double-buffered (shadow weights)
    parameter int W_W = 8,
    parameter int A_W = 8,
    parameter int P_W = 32,
    parameter int STUCK_AT = 1             // 1: include the test-only stuck-at injector
) (
    input  logic                    clk,
    input  logic                    rst,
    input  logic [ROWS*COLS-1:0]    fault,
    input  logic [ROWS-1:0]         row_off,          // row/column bypass: switched-off lines
    input  logic [COLS-1:0]         col_off,
    input  logic                    stuck_en,
    input  logic [15:0]             stuck_row,
    input  logic [15:0]             stuck_col,
    input  logic [7:0]              stuck_bit,
    input  logic                    stuck_val,
    input  logic                    shift_weights,
    input  logic                    swap,
    input  logic [COLS*W_W-1:0]     weight_in,        // column j at [j*W_W +: W_W]
    input  logic [COLS-1:0]         weight_valid_in,
    input  logic [ROWS*A_W-1:0]     feed,             // row i at [i*A_W +: A_W]
    input  logic [ROWS-1:0]         feed_valid,
    output logic [COLS*P_W-1:0]     p_bottom,         // column j at [j*P_W +: P_W]
    output logic [COLS-1:0]         pv_bottom
);
    // the core's spare ports at their default GROUP = COLS (one group), tied off
    localparam int CORE_SEL_W = COLS > 1 ? $clog2(COLS) : 1;
    fap_array_core #(
        .ROWS(ROWS), .COLS(COLS), .DOUBLE_BUFFERED(DOUBLE_BUFFERED),
        .W_W(W_W), .A_W(A_W), .P_W(P_W), .STUCK_AT(STUCK_AT), .SPARES(0)
    ) u_core (
        .clk, .rst, .fault, .row_off, .col_off, .spare_en({ROWS{1'b0}}), .spare_idx({(ROWS*CORE_SEL_W){1'b0}}),
        .stuck_en, .stuck_row, .stuck_col, .stuck_bit, .stuck_val, .shift_weights, .swap,
        .weight_in, .weight_valid_in, .feed, .feed_valid, .p_bottom, .pv_bottom
    );
endmodule
