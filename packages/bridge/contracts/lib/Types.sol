// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.26;

/// @notice Structs shared by the L1 contracts and the L2 predeploys. Field order and types follow
///         the OP Stack (pre-fault-proof) so that its tooling (viem's `op-stack` actions) encodes
///         them unchanged.
library Types {
    /// @notice An L2 output committed on L1.
    struct OutputProposal {
        bytes32 outputRoot;
        uint128 timestamp; // L1 timestamp of the proposal
        uint128 l2BlockNumber;
    }

    /// @notice The preimage of an output root (version 0).
    struct OutputRootProof {
        bytes32 version;
        bytes32 stateRoot;
        bytes32 messagePasserStorageRoot;
        bytes32 latestBlockhash;
    }

    /// @notice A withdrawal initiated on L2 by the message passer.
    struct WithdrawalTransaction {
        uint256 nonce;
        address sender;
        address target;
        uint256 value;
        uint256 gasLimit;
        bytes data;
    }
}
