// fap_tb.sv -- file-driven testbench for fap_array (Verilator --binary and Icarus).
//
// Plusargs:
//   +dir=DIR    vector set written by `fapsim vectors` (or hw/cosim/refmodel.py):
//                 DIR/faults.txt    ROWS*COLS bits (0/1), row-major, whitespace separated
//                 DIR/stuckat.txt   "en row col bit value"
//                 DIR/lines.txt     optional (row/column bypass): ROWS row_off bits,
//                                   then COLS col_off bits; absent: all lines on
//                 DIR/stimulus.txt  header "edges E", then one line per edge:
//                                   shift swap  C x (wv w_hex)  R x (fv a_hex)
//   +out=FILE   per-edge bottom outputs: one line per edge, C x (pv p_hex8), then
//               "cycles N" with N = (last edge with any valid bottom output) + 2
//   +vcd=FILE   optional VCD of every PE's registers and bypass bit
//   +faults=NAME  fault-map file in DIR (default faults.txt; with spares faults_raw.txt)
// Build with ROWS, COLS, DOUBLE_BUFFERED matching the vector set (meta.txt).
// SPARE_GROUP > 0 tests fap_spare_array (column-groups spares, GROUP = SPARE_GROUP)
// instead of fap_array; it then also reads
//                 DIR/spares.txt    ROWS lines of COLS/SPARE_GROUP integers: the array
//                                   column spare (row, group) replaces, -1 for none
// Edge e (numbered from 0) is the rising edge at time 10*(e+1); its inputs are
// driven on the falling edge 5 time units before it, and the bottom outputs are
// sampled 1 time unit after it.
`timescale 1ns/1ns
module fap_tb;
    parameter int ROWS = 4;
    parameter int COLS = 4;
    parameter int DOUBLE_BUFFERED = 0;     // 0: single-buffered, 1: double-buffered
    parameter int SPARE_GROUP = 0;         // 0: fap_array; G > 0: fap_spare_array, G columns per group
    localparam int W_W = 8, A_W = 8, P_W = 32;
    localparam int NG = SPARE_GROUP > 0 ? COLS / SPARE_GROUP : 1;
    localparam int SEL_W = SPARE_GROUP > 1 ? $clog2(SPARE_GROUP) : 1;

    logic                 clk = 1'b1;
    logic                 rst = 1'b0;
    logic [ROWS*COLS-1:0] fault = '0;
    /* verilator lint_off UNUSEDSIGNAL */  // row_off/col_off: fap_array only; spare_*: fap_spare_array only
    logic [ROWS-1:0]      row_off = '0;
    logic [COLS-1:0]      col_off = '0;
    /* verilator lint_on UNUSEDSIGNAL */
    logic                 stuck_en = 1'b0;
    logic [15:0]          stuck_row = '0, stuck_col = '0;
    logic [7:0]           stuck_bit = '0;
    logic                 stuck_val = 1'b0;
    logic                 shift_weights = 1'b0, swap = 1'b0;
    logic [COLS*W_W-1:0]  weight_in = '0;
    logic [COLS-1:0]      weight_valid_in = '0;
    logic [ROWS*A_W-1:0]  feed = '0;
    logic [ROWS-1:0]      feed_valid = '0;
    logic [COLS*P_W-1:0]  p_bottom;
    logic [COLS-1:0]      pv_bottom;

    string vcdf;
    /* verilator lint_off UNUSEDSIGNAL */
    logic [ROWS*NG-1:0]       spare_en = '0;
    logic [ROWS*NG*SEL_W-1:0] spare_idx = '0;
    /* verilator lint_on UNUSEDSIGNAL */

    generate
        if (SPARE_GROUP == 0) begin : g_fap
            fap_array #(.ROWS(ROWS), .COLS(COLS), .DOUBLE_BUFFERED(DOUBLE_BUFFERED),
                        .W_W(W_W), .A_W(A_W), .P_W(P_W), .STUCK_AT(1)) dut (
                .clk, .rst, .fault, .row_off, .col_off, .stuck_en, .stuck_row, .stuck_col,
                .stuck_bit, .stuck_val, .shift_weights, .swap, .weight_in, .weight_valid_in,
                .feed, .feed_valid, .p_bottom, .pv_bottom);
            // The VCD is of the DUT only (in each branch: the other one's scope does not exist).
            initial if ($value$plusargs("vcd=%s", vcdf)) begin $dumpfile(vcdf); $dumpvars(0, dut); end
        end else begin : g_spares
            fap_spare_array #(.ROWS(ROWS), .COLS(COLS), .GROUP(SPARE_GROUP), .DOUBLE_BUFFERED(DOUBLE_BUFFERED),
                              .W_W(W_W), .A_W(A_W), .P_W(P_W), .STUCK_AT(1)) dut (
                .clk, .rst, .fault, .spare_en, .spare_idx, .stuck_en, .stuck_row, .stuck_col,
                .stuck_bit, .stuck_val, .shift_weights, .swap, .weight_in, .weight_valid_in,
                .feed, .feed_valid, .p_bottom, .pv_bottom);
            initial if ($value$plusargs("vcd=%s", vcdf)) begin $dumpfile(vcdf); $dumpvars(0, dut); end
        end
    endgenerate

    /* verilator lint_off BLKSEQ */
    always #5 clk = ~clk;                    // falls at 10e+5, rises at 10(e+1)
    /* verilator lint_on BLKSEQ */

    // Stimulus staging: the file-reading process fills these, a clocked process
    // drives the DUT inputs from them on the falling edge before each rising
    // edge.  (With the DUT inputs driven straight from the timed initial
    // process, the 5.006 release of Verilator evaluated the combinational MAC
    // one edge late.)
    logic                 stg_shift = 1'b0, stg_swap = 1'b0;
    logic [COLS*W_W-1:0]  stg_w = '0;
    logic [COLS-1:0]      stg_wv = '0;
    logic [ROWS*A_W-1:0]  stg_feed = '0;
    logic [ROWS-1:0]      stg_fv = '0;
    always @(negedge clk) begin
        shift_weights   <= stg_shift;
        swap            <= stg_swap;
        weight_in       <= stg_w;
        weight_valid_in <= stg_wv;
        feed            <= stg_feed;
        feed_valid      <= stg_fv;
    end

    string dir, outf, faultf;
    /* verilator lint_off UNUSEDSIGNAL */
    int fd, fo, rc, edges, e, k, last_valid, x0, x1, x2, x3, x4;
    logic [31:0] v, h;
    /* verilator lint_on UNUSEDSIGNAL */

    initial begin
        if (!$value$plusargs("dir=%s", dir)) begin $display("fap_tb: need +dir=DIR"); $finish; end
        if (!$value$plusargs("out=%s", outf)) outf = {dir, "/rtl_out.txt"};
        // fault map (the raw one under spares: repaired PEs keep their fault bit)
        if (!$value$plusargs("faults=%s", faultf)) begin
            // (an if, not ?: -- Icarus 11 pads a ?: of string literals with NULs)
            if (SPARE_GROUP > 0) faultf = "faults_raw.txt"; else faultf = "faults.txt";
        end
        fd = $fopen({dir, "/", faultf}, "r");
        if (fd == 0) begin $display("fap_tb: cannot open %s/%s", dir, faultf); $finish; end
        for (k = 0; k < ROWS*COLS; k++) begin
            rc = $fscanf(fd, "%d", v);
            if (rc != 1) begin $display("fap_tb: %s: short file at %0d", faultf, k); $finish; end
            fault[k] = v[0];
        end
        $fclose(fd);
        // spare selects: spare (r, g) has index g*ROWS + r (fapsim's spare index)
        if (SPARE_GROUP > 0) begin
            fd = $fopen({dir, "/spares.txt"}, "r");
            if (fd == 0) begin $display("fap_tb: cannot open %s/spares.txt", dir); $finish; end
            for (k = 0; k < ROWS*NG; k++) begin
                rc = $fscanf(fd, "%d", x0);
                if (rc != 1) begin $display("fap_tb: spares.txt: short file at %0d", k); $finish; end
                if (x0 >= 0) begin
                    if (x0 / SPARE_GROUP != k % NG) begin
                        $display("fap_tb: spares.txt: row %0d group %0d: column %0d is outside the group", k / NG, k % NG, x0);
                        $finish;
                    end
                    spare_en[(k % NG) * ROWS + k / NG] = 1'b1;
                    spare_idx[((k % NG) * ROWS + k / NG) * SEL_W +: SEL_W] = SEL_W'(x0 % SPARE_GROUP);
                end
            end
            $fclose(fd);
        end
        // switched-off lines (row/column bypass), when the vector set has them
        fd = $fopen({dir, "/lines.txt"}, "r");
        if (fd != 0) begin
            for (k = 0; k < ROWS + COLS; k++) begin
                rc = $fscanf(fd, "%d", v);
                if (rc != 1) begin $display("fap_tb: lines.txt: short file at %0d", k); $finish; end
                if (k < ROWS) row_off[k] = v[0]; else col_off[k - ROWS] = v[0];
            end
            $fclose(fd);
        end
        // stuck-at spec
        fd = $fopen({dir, "/stuckat.txt"}, "r");
        if (fd == 0) begin $display("fap_tb: cannot open %s/stuckat.txt", dir); $finish; end
        rc = $fscanf(fd, "%d %d %d %d %d", x0, x1, x2, x3, x4);
        if (rc != 5) begin $display("fap_tb: stuckat.txt: expected 5 integers"); $finish; end
        stuck_en = x0[0]; stuck_row = x1[15:0]; stuck_col = x2[15:0]; stuck_bit = x3[7:0]; stuck_val = x4[0];
        $fclose(fd);
        // stimulus
        fd = $fopen({dir, "/stimulus.txt"}, "r");
        if (fd == 0) begin $display("fap_tb: cannot open %s/stimulus.txt", dir); $finish; end
        rc = $fscanf(fd, "edges %d", edges);
        if (rc != 1) begin $display("fap_tb: stimulus.txt: missing 'edges E' header"); $finish; end
        fo = $fopen(outf, "w");
        if (fo == 0) begin $display("fap_tb: cannot write %s", outf); $finish; end
        last_valid = -1;
        #1 rst = 1'b1;                       // asynchronous reset pulse at time 1..2,
        #1 rst = 1'b0;                       // released before edge 0
        for (e = 0; e < edges; e++) begin
            // read edge e's inputs into the staging registers (time 2, then 10e+1);
            // the negedge process below drives them at 10e+5
            rc = $fscanf(fd, "%d %d", x0, x1);
            if (rc != 2) begin $display("fap_tb: stimulus.txt: edge %0d: bad control fields", e); $finish; end
            stg_shift = x0[0]; stg_swap = x1[0];
            for (k = 0; k < COLS; k++) begin
                rc = $fscanf(fd, "%d %h", x0, h);
                if (rc != 2) begin $display("fap_tb: stimulus.txt: edge %0d: bad weight field %0d", e, k); $finish; end
                stg_wv[k] = x0[0];
                stg_w[k*W_W +: W_W] = h[W_W-1:0];
            end
            for (k = 0; k < ROWS; k++) begin
                rc = $fscanf(fd, "%d %h", x0, h);
                if (rc != 2) begin $display("fap_tb: stimulus.txt: edge %0d: bad feed field %0d", e, k); $finish; end
                stg_fv[k] = x0[0];
                stg_feed[k*A_W +: A_W] = h[A_W-1:0];
            end
            @(posedge clk);                  // time 10*(e+1): edge e
            #1;                              // sample after the edge
            for (k = 0; k < COLS; k++) begin
                $fwrite(fo, "%0d %h", pv_bottom[k], p_bottom[k*P_W +: P_W]);
                if (k != COLS-1) $fwrite(fo, " ");
                if (pv_bottom[k]) last_valid = e;
            end
            $fwrite(fo, "\n");
        end
        // The accumulators capture the last valid bottom psum on the edge after it.
        $fwrite(fo, "cycles %0d\n", last_valid + 2);
        $fclose(fo);
        $fclose(fd);
        #4 $finish;
    end
endmodule
