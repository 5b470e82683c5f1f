// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @dev The Attribution (Proof-of-Attribution) system module (native precompile) of OpenLedger.
address constant ATTRIBUTION_ADDRESS = 0x4F50454e00000000000000000000000000000003;

/// @title IAttribution
/// @notice Settles paid inferences: verifies the provider-signed EIP-712 receipt, splits the fee
/// among protocol treasury, stakers pool, model owner (and parent royalty) and data contributors,
/// and keeps pull-based reward balances.
/// @custom:address 0x4f50454e00000000000000000000000000000003
interface IAttribution {
    /// @notice Credit for one datanet version. `weight` is in millionths of the contributors' part
    /// (all entries sum to 1,000,000). With named contributions, their weights also sum to
    /// 1,000,000 and the entry's amount goes to those contributions' contributors; without, it goes
    /// to the holders of the shares of the contributions that version holds (versions <= it), in
    /// proportion to their weights at publication.
    struct Entry {
        uint256 datanetId;
        uint64 datanetVersion;
        uint32 weight;
        uint64[] contributionIds;
        uint32[] contributionWeights;
    }

    /// @notice EIP-712 typed data signed by the model's provider. Domain: name "OpenLedger Attribution",
    /// version "1", chainId, verifyingContract = ATTRIBUTION_ADDRESS.
    struct InferenceReceipt {
        uint256 modelId;
        uint32 modelVersion;
        bytes32 inputHash;
        bytes32 outputHash;
        Entry[] entries;
        uint256 nonce;
        uint64 deadline;
        /// @notice address(0): anyone may settle; else only this account.
        address payer;
        uint256 fee;
        bytes32 attributionCommitment;
    }

    struct ReceiptInfo {
        bytes32 receiptId;
        uint256 modelId;
        uint32 modelVersion;
        address payer;
        uint256 fee;
        bytes32 inputHash;
        bytes32 outputHash;
        bytes32 attributionCommitment;
        uint256 nonce;
        uint64 settledAtBlock;
    }

    /// @notice Every governable parameter of the Datanets, Models and Attribution modules (genesis
    /// values until Governance sets one; see docs/attribution-modules.md).
    struct Parameters {
        address treasury;
        address stakersPool;
        uint16 protocolBps;
        uint16 stakersBps;
        uint16 providerBps;
        uint16 ownerBps;
        uint16 minOwnerBps;
        uint16 maxOwnerBps;
        uint16 parentRoyaltyBps;
        uint8 maxLineageDepth;
        uint16 maxWeightShareBps;
        uint32 maxVersionBatch;
        uint16 spanK;
        uint64 challengeWindow;
        uint64 revealWindow;
        uint64 maxResolvableBytes;
        uint256 minProviderBond;
        uint256 challengerBond;
        uint16 challengerRewardBps;
        uint16 slashBps;
    }

    struct SplitParams {
        address treasury;
        address stakersPool;
        uint16 protocolBps;
        uint16 stakersBps;
        uint16 minOwnerBps;
        uint16 maxOwnerBps;
        uint16 parentRoyaltyBps;
        uint32 weightDenominator;
    }

    event InferenceSettled(
        bytes32 indexed receiptId,
        uint256 indexed modelId,
        address indexed payer,
        uint32 modelVersion,
        uint256 fee,
        bytes32 inputHash,
        bytes32 outputHash,
        bytes32 attributionCommitment,
        uint256 nonce
    );
    /// @notice How the fee was split; the six parts sum to the fee. Every level is apportioned
    /// exactly (largest remainder; pro-rata pools carry sub-wei remainders), so `dust` is 0; it is
    /// kept for ABI compatibility (it was credited to the treasury with `protocol`).
    event FeeSplit(
        bytes32 indexed receiptId,
        uint256 protocol,
        uint256 stakers,
        uint256 owner,
        uint256 parentRoyalty,
        uint256 contributors,
        uint256 dust
    );
    /// @notice The contributors' amount credited for one entry (to shareholders or named contributions).
    event AttributionPaid(bytes32 indexed receiptId, uint256 indexed datanetId, uint64 indexed datanetVersion, uint256 amount);
    /// @notice A datanet-level entry's amount went to the pool of `version`: every share of a
    /// version <= `version` earned `rewardIndexIncrease` / 2^64 wei (the pool carries the rest).
    event VersionPoolPaid(
        bytes32 indexed receiptId,
        uint256 indexed datanetId,
        uint64 indexed version,
        uint256 amount,
        uint256 rewardIndexIncrease
    );
    event ContributionPaid(
        bytes32 indexed receiptId, uint256 indexed datanetId, uint256 indexed contributionId, address contributor, uint256 amount
    );
    event RewardsClaimed(address indexed account, uint256 amount);
    /// @notice The model's provider's part of a fee (`providerBps`; not emitted when it is 0).
    event ProviderPaid(bytes32 indexed receiptId, address indexed provider, uint256 amount);
    event ParameterSet(bytes32 indexed name, uint256 newValue);

    error WriteProtection();
    error NonPayable(uint256 value);
    error UnknownSelector(bytes4 selector);
    error MalformedCalldata();
    error TooManyItems(uint256 count, uint256 max);
    error ModelNotFound(uint256 modelId);
    error ModelVersionNotFound(uint256 modelId, uint32 version);
    error WrongValue(uint256 value, uint256 fee);
    error FeeBelowMinimum(uint256 fee, uint256 minimum);
    error WrongPayer(address payer, address caller);
    error ReceiptExpired(uint64 deadline, uint64 timestamp);
    error InvalidSignature();
    error MalleableSignature();
    error InvalidSigner(address expected, address recovered);
    error ReceiptAlreadySettled(bytes32 receiptId);
    error NonceAlreadyUsed(uint256 modelId, uint256 nonce);
    error NoEntries();
    error WeightsDoNotSumToTotal(uint256 sum, uint256 total);
    error ContributionWeightsDoNotSumToTotal(uint256 entryIndex, uint256 sum, uint256 total);
    error LengthMismatch(uint256 entryIndex, uint256 ids, uint256 weights);
    error DatanetVersionNotDeclared(uint256 modelId, uint32 modelVersion, uint256 datanetId, uint64 datanetVersion);
    error ContributionNotInVersion(uint256 datanetId, uint64 datanetVersion, uint64 contributionId);
    error NothingToClaim(address account);
    error ReceiptNotFound(bytes32 receiptId);
    error OnlyGovernance(address caller);
    error UnknownParameter(bytes32 name);
    error InvalidParameter(bytes32 name, uint256 value, string reason);

    /// @notice Pays `receipt.fee` (msg.value must equal it) for an inference and splits it.
    /// `signature` is the provider's 65-byte r||s||v EIP-712 signature (low-s only).
    function settle(InferenceReceipt calldata receipt, bytes calldata signature) external payable returns (bytes32 receiptId);

    /// @notice Pays msg.sender everything accrued to it, including its datanet shares' rewards.
    function claim() external returns (uint256 amount);

    function claimable(address holder) external view returns (uint256);
    function getReceipt(bytes32 receiptId) external view returns (ReceiptInfo memory);
    function receiptDigest(InferenceReceipt calldata receipt) external view returns (bytes32);
    function isNonceUsed(uint256 modelId, uint256 nonce) external view returns (bool);
    /// @notice Cumulative wei per share earned by share token `id` (a bare datanet id: its version-1
    /// shares), rounded down; `rewardIndex` is the exact value ×2^64.
    function rewardPerShare(uint256 id) external view returns (uint256);
    function rewardIndex(uint256 shareTokenId) external view returns (uint256);
    function splitParams() external view returns (SplitParams memory);

    /// @notice Governance only (msg.sender = 0x4f50454e…0005): sets one parameter by name (ASCII,
    /// left-aligned, e.g. "protocolBps"); addresses as uint160. Range and the relations between
    /// parameters are checked on the whole new set.
    function setParameter(bytes32 name, uint256 newValue) external;
    function getParameter(bytes32 name) external view returns (uint256);
    function parameters() external view returns (Parameters memory);
}
