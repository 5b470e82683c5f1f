// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @dev The Governance system module (native precompile) of OpenLedger; also the protocol treasury.
address constant GOVERNANCE_ADDRESS = 0x4F50454E00000000000000000000000000000005;

/// @title IGovernance
/// @notice On-chain governance in OpenZeppelin Governor vocabulary (block-number clock, "bravo"
/// counting, quorum over For + Abstain) with a built-in timelock. Voting power is bonded stake at the
/// proposal's snapshot block: a validator operator votes with its validator's tokens, a delegator
/// with its delegations' tokens, and a delegator's vote overrides its validator's for its part.
/// Executed actions are calls made by this module (msg.sender = GOVERNANCE_ADDRESS): the only way
/// to change module and chain parameters and to spend the treasury (this account's balance).
/// @custom:address 0x4f50454e00000000000000000000000000000005
interface IGovernance {
    enum ProposalState {
        Pending,
        Active,
        Canceled,
        Defeated,
        Succeeded,
        Queued,
        Expired,
        Executed
    }

    struct Params {
        /// @notice Blocks from proposal to the voting-power snapshot (voting opens after it).
        uint64 votingDelay;
        /// @notice Blocks voting stays open after the snapshot.
        uint64 votingPeriod;
        uint256 proposalThreshold;
        /// @notice For + Abstain needed, in bps of the stake bonded at the snapshot.
        uint16 quorumBps;
        /// @notice Seconds between queue and the earliest execution.
        uint64 timelockDelay;
        /// @notice Seconds after the earliest execution time at which a queued proposal expires.
        uint64 gracePeriod;
        /// @notice Floor of the EIP-1559 base fee (wei), applied from the block after the change.
        uint256 minBaseFee;
    }

    struct Proposal {
        uint256 id;
        address proposer;
        uint64 voteStart;
        uint64 voteEnd;
        uint64 eta;
        ProposalState state;
        uint256 againstVotes;
        uint256 forVotes;
        uint256 abstainVotes;
        uint256 quorum;
        bytes32 descriptionHash;
        uint32 actions;
    }

    function propose(address[] calldata targets, uint256[] calldata values, bytes[] calldata calldatas, string calldata description)
        external
        returns (uint256 proposalId);

    function queue(address[] calldata targets, uint256[] calldata values, bytes[] calldata calldatas, bytes32 descriptionHash)
        external
        returns (uint256 proposalId);

    /// @notice Runs the actions in order, each as a call from this module; a failing action reverts
    /// the whole execution with its revert data. msg.value is added to the treasury first.
    function execute(address[] calldata targets, uint256[] calldata values, bytes[] calldata calldatas, bytes32 descriptionHash)
        external
        payable
        returns (uint256 proposalId);

    /// @notice The proposer may cancel while the proposal is Pending.
    function cancel(address[] calldata targets, uint256[] calldata values, bytes[] calldata calldatas, bytes32 descriptionHash)
        external
        returns (uint256 proposalId);

    /// @param support 0 against, 1 for, 2 abstain
    function castVote(uint256 proposalId, uint8 support) external returns (uint256 weight);

    function castVoteWithReason(uint256 proposalId, uint8 support, string calldata reason)
        external
        returns (uint256 weight);

    /// @notice Only this module itself (an executed proposal).
    function setParams(Params calldata params) external returns (bool success);

    function hashProposal(address[] calldata targets, uint256[] calldata values, bytes[] calldata calldatas, bytes32 descriptionHash)
        external
        pure
        returns (uint256);

    function state(uint256 proposalId) external view returns (ProposalState);
    function proposalSnapshot(uint256 proposalId) external view returns (uint256);
    function proposalDeadline(uint256 proposalId) external view returns (uint256);
    function proposalEta(uint256 proposalId) external view returns (uint256);
    function proposalProposer(uint256 proposalId) external view returns (address);
    function proposalVotes(uint256 proposalId)
        external
        view
        returns (uint256 againstVotes, uint256 forVotes, uint256 abstainVotes);
    function proposal(uint256 proposalId) external view returns (Proposal memory);
    /// @notice Proposal ids, oldest first.
    function proposals(uint256 offset, uint256 limit) external view returns (uint256[] memory ids, uint256 total);
    function hasVoted(uint256 proposalId, address account) external view returns (bool);
    function votingDelay() external view returns (uint256);
    function votingPeriod() external view returns (uint256);
    function proposalThreshold() external view returns (uint256);
    /// @notice Quorum at a past block.
    function quorum(uint256 timepoint) external view returns (uint256);
    /// @notice Voting power of `account` at a past block (its validator's tokens if it operates one,
    /// plus its delegations to other bonded validators).
    function getVotes(address account, uint256 timepoint) external view returns (uint256);
    function params() external view returns (Params memory);
    function minBaseFee() external view returns (uint256);
    function name() external view returns (string memory);
    function version() external view returns (string memory);
    function clock() external view returns (uint48);
    // solhint-disable-next-line func-name-mixedcase
    function CLOCK_MODE() external view returns (string memory);
    // solhint-disable-next-line func-name-mixedcase
    function COUNTING_MODE() external pure returns (string memory);

    event ProposalCreated(
        uint256 proposalId,
        address proposer,
        address[] targets,
        uint256[] values,
        string[] signatures,
        bytes[] calldatas,
        uint256 voteStart,
        uint256 voteEnd,
        string description
    );
    event ProposalQueued(uint256 proposalId, uint256 etaSeconds);
    event ProposalExecuted(uint256 proposalId);
    event ProposalCanceled(uint256 proposalId);
    event VoteCast(address indexed voter, uint256 proposalId, uint8 support, uint256 weight, string reason);
    event ParamsUpdated();

    error MalformedCalldata();
    error UnknownSelector(bytes4 selector);
    error WriteProtection();
    error NonPayable(uint256 value);
    error OnlyGovernance(address caller);
    error InvalidParams(string field, string reason);
    error GovernorInvalidProposalLength(uint256 targets, uint256 calldatas, uint256 values);
    error GovernorProposalTooLarge(string what, uint256 size, uint256 max);
    error GovernorInsufficientProposerVotes(address proposer, uint256 votes, uint256 threshold);
    error GovernorUnexpectedProposalState(uint256 proposalId, ProposalState current, bytes32 expectedStates);
    error GovernorNonexistentProposal(uint256 proposalId);
    error GovernorAlreadyCastVote(address voter);
    error GovernorInvalidVoteType();
    error GovernorOnlyProposer(address account);
    error GovernorNoVotingPower(address voter);
    error GovernorTimelockNotReady(uint256 proposalId, uint64 eta);
    error GovernorCallFailed(uint256 index);
}
