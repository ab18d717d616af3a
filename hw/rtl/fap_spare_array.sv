`timescale 1ns/1ns
// fap_spare_array.sv -- the FAP array with spare PEs in the column-groups layout
// (docs/rtl-cosim.md, "Spare PEs"; docs/mitigations.md, "Spare PEs").
//
// ROWS x COLS fap_pe as in fap_array, plus one spare column per group of GROUP
// adjacent columns (group g = columns g*GROUP ..< (g+1)*GROUP): spare (r, g),
// a fap_spare_pe, can take the place of one PE of row r in group g.
//
// Configuration (static, like the fault bits), per spare s = g*ROWS + r (the
// spare index of fapsim's SpareLayout.columnGroups):
//   spare_en[s]                       1: spare s replaces a PE
//   spare_idx[s*SEL_W +: SEL_W]       which column of its group (0..GROUP-1)
// fault[i*COLS+j] is the chip's raw fault map: an unrepaired faulty PE stays
// bypassed by its FAP mux; a replaced PE's own fault bit does not matter,
// because its partial-sum output is not used.
//
// Dataflow of a replaced PE(r, c): spare (r, g) takes PE(r, c)'s activation,
// weight-chain and partial-sum inputs through its G:1 muxes and computes in the
// same cycle PE(r, c) would; PE(r+1, c) (or p_bottom) takes its partial sum
// from the spare through a 2:1 mux at PE(r, c)'s output.  PE(r, c) itself still
// passes its activation right and its weight chain down.  Same registers, same
// cycle: the array's timing is that of a fault-free array (the mux delays are
// in the clock period, docs/rtl-cosim.md).
// The generate is fap_array_core.sv (shared with fap_array), with no line
// switched off.
module fap_spare_array #(
    parameter int ROWS = 4,
    parameter int COLS = 4,
    parameter int GROUP = 2,               // columns per group; must divide COLS
    parameter int DOUBLE_BUFFERED = 0,
    parameter int W_W = 8,
    parameter int A_W = 8,
    parameter int P_W = 32,
    parameter int STUCK_AT = 1,            // 1: include the test-only stuck-at injector
    localparam int NG = COLS / GROUP,      // groups = spare columns
    localparam int SEL_W = GROUP > 1 ? $clog2(GROUP) : 1
) (
    input  logic                    clk,
    input  logic                    rst,
    input  logic [ROWS*COLS-1:0]    fault,
    input  logic [ROWS*NG-1:0]      spare_en,
    input  logic [ROWS*NG*SEL_W-1:0] spare_idx,
    input  logic                    stuck_en,
    input  logic [15:0]             stuck_row,
    input  logic [15:0]             stuck_col,
    input  logic [7:0]              stuck_bit,
    input  logic                    stuck_val,
    input  logic                    shift_weights,
    input  logic                    swap,
    input  logic [COLS*W_W-1:0]     weight_in,
    input  logic [COLS-1:0]         weight_valid_in,
    input  logic [ROWS*A_W-1:0]     feed,
    input  logic [ROWS-1:0]         feed_valid,
    output logic [COLS*P_W-1:0]     p_bottom,
    output logic [COLS-1:0]         pv_bottom
);
    fap_array_core #(
        .ROWS(ROWS), .COLS(COLS), .DOUBLE_BUFFERED(DOUBLE_BUFFERED),
        .W_W(W_W), .A_W(A_W), .P_W(P_W), .STUCK_AT(STUCK_AT), .SPARES(1), .GROUP(GROUP)
    ) u_core (
        .clk, .rst, .fault, .row_off(ROWS'(0)), .col_off(COLS'(0)), .spare_en, .spare_idx,
        .stuck_en, .stuck_row, .stuck_col, .stuck_bit, .stuck_val, .shift_weights, .swap,
        .weight_in, .weight_valid_in, .feed, .feed_valid, .p_bottom, .pv_bottom
    );
endmodule
